import CubistCore
import CubistStore
import CubistSyntax

/// The periods of a time dimension's hierarchy, coarsest first: the grain of a date value.
enum TimeGrain: Int, Hashable, Comparable {
    case year, quarter, month, day

    static func < (a: TimeGrain, b: TimeGrain) -> Bool { a.rawValue < b.rawValue }

    /// The grain of a level: one of a time dimension's hierarchy levels (not `weekday`).
    static func of(_ level: LevelRef, in cube: Cube) -> TimeGrain? {
        guard !level.isAttribute, case .time = cube.dimensions[level.dimension].source else { return nil }
        return TimeGrain(rawValue: level.index)
    }

    /// The grain a label is written in: `2024`, `2024-Q1`, `2024-01` or `2024-01-05`.
    static func of(label: String) -> TimeGrain? {
        for g in [TimeGrain.day, .month, .quarter, .year] where g.ordinal(of: label) != nil { return g }
        return nil
    }

    var name: String { ["year", "quarter", "month", "day"][rawValue] }

    /// The grain a period function names: `year`, `quarter`, `month`, `day` (any case).
    init?(functionName: String) {
        guard let g = [TimeGrain.year, .quarter, .month, .day].first(where: { $0.name.caseInsensitiveEquals(functionName) }) else { return nil }
        self = g
    }

    /// The period's number: years since year 0, quarters and months counted the same way,
    /// days since 1970-01-01. Nil when the label is not a period of this grain.
    func ordinal(of label: String) -> Int? {
        let u = Array(label.utf8)
        func digits(_ from: Int, _ to: Int) -> Int? {
            var v = 0
            for i in from..<to {
                guard u[i] >= 48, u[i] <= 57 else { return nil }
                v = v * 10 + Int(u[i] - 48)
            }
            return v
        }
        switch self {
        case .year:
            guard u.count == 4 else { return nil }
            return digits(0, 4)
        case .quarter:
            guard u.count == 7, u[4] == UInt8(ascii: "-"), u[5] == UInt8(ascii: "Q"), let y = digits(0, 4), let q = digits(6, 7), (1...4).contains(q) else { return nil }
            return y * 4 + q - 1
        case .month:
            guard u.count == 7, u[4] == UInt8(ascii: "-"), let y = digits(0, 4), let m = digits(5, 7), (1...12).contains(m) else { return nil }
            return y * 12 + m - 1
        case .day:
            guard case .day(let d) = u.withUnsafeBufferPointer(FieldParser.date) else { return nil }
            return Int(d)
        }
    }

    /// The label of period `ordinal`; nil outside years 1 to 9999.
    func label(_ ordinal: Int) -> String? {
        func pad(_ v: Int, _ n: Int) -> String { String(repeating: "0", count: max(0, n - String(v).count)) + String(v) }
        let year: Int
        switch self {
        case .year: year = ordinal
        case .quarter: year = ordinal >= 0 ? ordinal / 4 : -1
        case .month: year = ordinal >= 0 ? ordinal / 12 : -1
        case .day: year = CivilDate.civil(ordinal).year
        }
        guard (1...9999).contains(year) else { return nil }
        switch self {
        case .year: return pad(year, 4)
        case .quarter: return pad(year, 4) + "-Q" + String(ordinal % 4 + 1)
        case .month: return pad(year, 4) + "-" + pad(ordinal % 12 + 1, 2)
        case .day: return CivilDate.isoDate(ordinal)
        }
    }

    /// The period of this grain holding day `day`.
    func ordinal(ofDay day: Int) -> Int {
        let (y, m, _) = CivilDate.civil(day)
        switch self {
        case .year: return y
        case .quarter: return y * 4 + (m - 1) / 3
        case .month: return y * 12 + m - 1
        case .day: return day
        }
    }

    /// The first day of period `ordinal`.
    func firstDay(_ ordinal: Int) -> Int {
        switch self {
        case .year: return CivilDate.dayNumber(year: ordinal, month: 1, day: 1)
        case .quarter: return CivilDate.dayNumber(year: ordinal / 4, month: ordinal % 4 * 3 + 1, day: 1)
        case .month: return CivilDate.dayNumber(year: ordinal / 12, month: ordinal % 12 + 1, day: 1)
        case .day: return ordinal
        }
    }

    /// The label `n` periods after `label` (before, when negative); nil when `label` is not
    /// a period of this grain or the result leaves years 1 to 9999.
    func shift(_ label: String, by n: Int) -> String? {
        guard let o = ordinal(of: label) else { return nil }
        let (sum, overflow) = o.addingReportingOverflow(n)
        return overflow ? nil : self.label(sum)
    }
}

extension PeriodUnit {
    /// The window of the last `n` units ending on day `latest`, as its first day: whole
    /// calendar months, quarters and years (the latest one so far), days and weeks back
    /// from the latest day.
    func windowStart(last n: Int, endingOn latest: Int) -> Int {
        switch self {
        case .day: return latest - n + 1
        case .week: return latest - 7 * n + 1
        case .month: return TimeGrain.month.firstDay(TimeGrain.month.ordinal(ofDay: latest) - n + 1)
        case .quarter: return TimeGrain.quarter.firstDay(TimeGrain.quarter.ordinal(ofDay: latest) - n + 1)
        case .year: return TimeGrain.year.firstDay(TimeGrain.year.ordinal(ofDay: latest) - n + 1)
        }
    }
}

extension Binder {
    /// The latest day with facts in the time dimension `d` (its largest leaf code), as a
    /// day number; an error on a cube without facts.
    func latestDay(_ d: Int, at range: SourceRange) throws(Diagnostic) -> Int {
        guard case .time(_, let firstDay) = cube.dimensions[d].source else {
            throw Diagnostic("latest() takes a level of a time dimension", at: range, help: "e.g. latest(time.day)")
        }
        guard cube.facts.rowCount > 0 else {
            throw Diagnostic("the cube has no facts, so it has no latest date", at: range)
        }
        return Int(firstDay) + Int(cube.facts.dimensionCodes[d].maximum)
    }

    /// The time level an expression names, with its grain; a located error otherwise.
    func timeLevel(_ e: Expr, role: String) throws(Diagnostic) -> (LevelRef, TimeGrain) {
        let level = try names.requireLevel(e, role: role)
        guard let grain = TimeGrain.of(level, in: cube) else {
            throw Diagnostic("\(role) takes a level of the time hierarchy (year, quarter, month or day), found '\(e)'", at: e.range,
                             help: "e.g. \(role == "latest()" ? "latest(time.day)" : "time.day IN LAST 90 DAYS")")
        }
        return (level, grain)
    }

    /// A date written in a condition or measure, evaluated now: `latest(level)` or a period
    /// function (`year('2025-11')`, `month($day)`), optionally plus or minus a whole number
    /// of its periods (`latest(time.year) - 1`, `$month - 12`). Nil when the expression is
    /// not of that form.
    func dateConstant(_ e: Expr) throws(Diagnostic) -> (label: String, grain: TimeGrain)? {
        switch e {
        case .call(let name, let args, false, false, let r) where name.caseInsensitiveEquals("latest"):
            return try latest(args, at: r)
        case .call(let name, let args, false, false, let r) where TimeGrain(functionName: name) != nil:
            // year('2025-11'), month($day), quarter(latest(time.day)): the period holding a date.
            guard let target = TimeGrain(functionName: name), args.count == 1, let (label, grain) = try anyDate(args[0]) else {
                throw Diagnostic("\(name.lowercased())() takes one date: a period such as '2025-11' or $month, or latest(time.day)", at: r,
                                 help: "e.g. time.year = \(name.lowercased())($month)")
            }
            guard target <= grain, let o = grain.ordinal(of: label), let period = target.label(target.ordinal(ofDay: grain.firstDay(o))) else {
                throw Diagnostic("\(name.lowercased())() of a \(grain.name) ('\(label)') would be many \(target.name)s", at: r,
                                 help: "take a coarser period, e.g. year('\(label)')")
            }
            return (period, target)
        case .binary(let op, let l, let r, let range) where op == .add || op == .subtract:
            // A date written as text moves too: '2025-11' - 12, $month - 12.
            guard let (label, grain) = try anyDate(l) else {
                if op == .add, let (label, grain) = try anyDate(r) { return try shifted(label, grain, by: try periods(l, grain), at: range) }
                return nil
            }
            let n = try periods(r, grain)
            return try shifted(label, grain, by: op == .add ? n : -n, at: range)
        default:
            return nil
        }
    }

    /// A date constant, or a period written as text.
    private func anyDate(_ e: Expr) throws(Diagnostic) -> (label: String, grain: TimeGrain)? {
        if let date = try dateConstant(e) { return date }
        return try dateLabel(e)
    }

    /// A quoted period or a parameter holding one (`'2025-11'`, `$month`), with its grain;
    /// nil for other expressions and for text that is not a period.
    func dateLabel(_ e: Expr) throws(Diagnostic) -> (label: String, grain: TimeGrain)? {
        let text: String
        switch e {
        case .string(let s, _): text = s
        case .parameter(let p, let r): text = try Names.parameter(p, parameters, at: r)
        default: return nil
        }
        return TimeGrain.of(label: text).map { (text, $0) }
    }

    /// `latest(level)`: the period of `level` that holds the cube's latest date.
    func latest(_ args: [Expr], at r: SourceRange) throws(Diagnostic) -> (label: String, grain: TimeGrain) {
        guard args.count == 1 else {
            throw Diagnostic("latest() takes one time level", at: r, help: "e.g. latest(time.day) or latest(time.month)")
        }
        let (level, grain) = try timeLevel(args[0], role: "latest()")
        let day = try latestDay(level.dimension, at: r)
        guard let label = grain.label(grain.ordinal(ofDay: day)) else { throw Diagnostic("the latest date is out of range", at: r) }
        return (label, grain)
    }

    private func shifted(_ label: String, _ grain: TimeGrain, by n: Int, at range: SourceRange) throws(Diagnostic) -> (label: String, grain: TimeGrain) {
        guard let moved = grain.shift(label, by: n) else {
            throw Diagnostic("'\(label)' moved by \(n) \(grain.name)s is outside the calendar (years 1 to 9999)", at: range)
        }
        return (moved, grain)
    }

    /// A whole number of periods added to or taken from a date.
    func periods(_ e: Expr, _ grain: TimeGrain) throws(Diagnostic) -> Int {
        let text: String
        switch e {
        case .number, .parameter: text = try Binder.numberText(e, parameters)
        case .negate(.number(let n, _), _): text = "-" + n
        default:
            throw Diagnostic("a date moves by a whole number of \(grain.name)s, found '\(e)'", at: e.range,
                             help: "e.g. latest(time.\(grain.name)) - \(grain == .day ? 90 : 1)")
        }
        guard let n = Int(text), abs(n) <= 10_000_000 else {
            throw Diagnostic("a date moves by a whole number of \(grain.name)s, found '\(text)'", at: e.range,
                             help: "e.g. latest(time.\(grain.name)) - \(grain == .day ? 90 : 1)")
        }
        return n
    }
}
