import Foundation
/// Prints syntax back as canonical source that parses to the same tree.
extension Expr: CustomStringConvertible {
    public var description: String { printed(parentPrecedence: 0, rightSide: false) }

    private func printed(parentPrecedence: Int, rightSide: Bool) -> String {
        switch self {
        case .number(let n, _): return n
        case .string(let s, _): return "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
        case .parameter(let p, _): return "$" + p
        case .name(let path, _): return path.map(Expr.printName).joined(separator: ".")
        case .call(let name, let args, let distinct, let star, _):
            if star { return "\(name)(*)" }
            return "\(name)(" + (distinct ? "distinct " : "") + args.map(\.description).joined(separator: ", ") + ")"
        case .per(let name, let m, let level, let args, _):
            return "\(name)(\(m) PER \(level)" + args.map { ", \($0)" }.joined() + ")"
        case .countHaving(let level, let c, _):
            return "count(\(level) HAVING \(c))"
        case .filtered(let m, let c, _):
            return m.printed(parentPrecedence: 3, rightSide: false) + " FILTER (WHERE \(c))"
        case .caseWhen(let branches, let otherwise, _):
            return "CASE" + branches.map { " WHEN \($0.condition) THEN \($0.result)" }.joined() + (otherwise.map { " ELSE \($0)" } ?? "") + " END"
        case .all(let e, _):
            return "ALL \(e)"
        case .negate(let e, _):
            return "-" + e.printed(parentPrecedence: 3, rightSide: false)
        case .binary(let op, let l, let r, _):
            let text = l.printed(parentPrecedence: op.precedence, rightSide: false) + " \(op.rawValue) "
                + r.printed(parentPrecedence: op.precedence, rightSide: true)
            let needsParens = op.precedence < parentPrecedence || (rightSide && op.precedence == parentPrecedence)
            return needsParens ? "(\(text))" : text
        }
    }

    /// A name as it must be written: bare when it is a plain identifier, else in double quotes.
    public static func printName(_ name: String) -> String {
        let bytes = Array(name.utf8)
        let plain = !bytes.isEmpty && bytes.enumerated().allSatisfy { i, c in
            (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c >= 0x80 || (i > 0 && c >= 48 && c <= 57)
        }
        return plain ? name : "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
