// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Cubist",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cubist", targets: ["cubist"]),
        .executable(name: "cubist-bench", targets: ["cubist-bench"]),
        .library(name: "CubistStore", targets: ["CubistStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/JohnSundell/Ink", from: "0.6.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        // Values shared by every layer: source locations, diagnostics, suggestions.
        .target(name: "CubistCore"),
        // Query syntax: lexer, AST, parser, printer. Syntax only, no model knowledge.
        .target(name: "CubistSyntax", dependencies: ["CubistCore"]),
        // zlib and libzstd, for Parquet's GZIP and ZSTD pages.
        .systemLibrary(name: "CInflate", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", providers: [.apt(["libzstd-dev"])]),
        // The columnar cube store: CSV and Parquet readers, dictionaries, hierarchies, model loader.
        // Dynamic exclusivity checks cost ~45% of CSV load time in the reader's hot loop;
        // static checking stays on, and debug builds keep the dynamic checks.
        .target(name: "CubistStore", dependencies: ["CubistCore", "CubistSyntax", "CInflate", "CZstd"],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        // Queries: binding names to the cube (planner), scanning and aggregating (execution),
        // and the typed result table. The engine never prints.
        .target(name: "CubistEngine", dependencies: ["CubistCore", "CubistSyntax", "CubistStore"]),
        // One renderer per output format; results in, text out (an Excel workbook: bytes).
        .target(name: "CubistFormats", dependencies: ["CubistCore", "CubistStore", "CubistEngine",
                                                      .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        // Charts from results: the shared chart model, SVG for reports, Unicode for terminals.
        .target(name: "CubistCharts", dependencies: ["CubistCore", "CubistSyntax", "CubistStore", "CubistEngine", "CubistFormats"]),
        // The deterministic CRM star-schema generator and the built-in sample cube.
        .target(name: "CubistGenerator", dependencies: ["CubistCore", "CubistStore"]),
        // GNU readline through a system-library target.
        .systemLibrary(name: "CReadline", providers: [.apt(["libreadline-dev"])]),
        // The interactive REPL, batch runner and dot commands.
        .target(name: "CubistShell", dependencies: ["CubistCore", "CubistSyntax", "CubistStore", "CubistEngine", "CubistFormats", "CubistCharts", "CubistGenerator", "CReadline"]),
        // Literate reports: Markdown with query blocks run in one session, written as HTML or Markdown.
        .target(name: "CubistReports", dependencies: [
            "CubistCore", "CubistSyntax", "CubistStore", "CubistEngine", "CubistFormats", "CubistCharts", "CubistShell",
            .product(name: "Ink", package: "Ink"),
        ]),
        // The thin command-line executable.
        .executableTarget(name: "cubist", dependencies: [
            "CubistShell", "CubistReports", "CubistFormats", "CubistGenerator", "CubistStore", "CubistCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The benchmark program: loads, snapshots and Q1-Q10 on generated cubes (docs/benchmarks.md).
        .executableTarget(name: "cubist-bench", dependencies: [
            "CubistEngine", "CubistFormats", "CubistGenerator", "CubistStore", "CubistSyntax", "CubistCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "CubistSyntaxTests", dependencies: ["CubistSyntax", "CubistCore"]),
        .testTarget(name: "CubistStoreTests", dependencies: ["CubistStore", "CubistCore", "CubistGenerator"]),
        .testTarget(name: "CubistEngineTests", dependencies: ["CubistEngine", "CubistSyntax", "CubistStore", "CubistCore", "CubistGenerator"]),
        .testTarget(name: "CubistShellTests", dependencies: ["CubistShell", "CubistReports", "CubistCharts", "CubistFormats", "CubistEngine", "CubistSyntax", "CubistStore", "CubistCore", "CubistGenerator",
                                                         .product(name: "ZIPFoundation", package: "ZIPFoundation")], exclude: ["cases", "reports", "files"]),
        .testTarget(name: "CubistGeneratorTests", dependencies: ["CubistGenerator", "CubistStore", "CubistCore"]),
        // Runs the built `cubist` binary end to end.
        .testTarget(name: "CubistCLITests", dependencies: ["cubist"]),
    ],
    swiftLanguageModes: [.v6]
)
