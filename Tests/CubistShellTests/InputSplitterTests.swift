import CubistShell
import Testing

@Suite struct InputSplitterTests {
    @Test func statementsEndAtSemicolonsOutsideQuotesAndComments() {
        let text = """
        -- a comment; not a statement
        SELECT 'a;b' AS "x;y" /* ; */ BY customer.region;
        .mode csv
        SELECT orders
          -- ; still the same statement
          WHERE channel.type = 'Web';  .timer on
        SELECT 1
        """
        let (pieces, rest) = InputSplitter.split(text)
        #expect(pieces.map(\.kind) == [.statement, .dotCommand, .statement, .dotCommand])
        #expect(pieces[0].text == "SELECT 'a;b' AS \"x;y\" /* ; */ BY customer.region")
        #expect((pieces[0].line, pieces[0].column) == (2, 1))
        #expect(pieces[1].text == ".mode csv")
        #expect((pieces[1].line, pieces[1].column) == (3, 1))
        #expect(pieces[2].text == "SELECT orders\n  -- ; still the same statement\n  WHERE channel.type = 'Web'")
        #expect((pieces[3].text, pieces[3].line, pieces[3].column) == (".timer on", 6, 32))
        #expect(rest?.text == "SELECT 1" && rest?.line == 7 && rest?.column == 1)
    }

    @Test func aDotCommandRunsToItsLineEndWhateverItHolds() {
        let (pieces, rest) = InputSplitter.split(".output it's.csv\nSELECT orders;\n")
        #expect(pieces.map(\.text) == [".output it's.csv", "SELECT orders"])
        #expect(pieces[1].line == 2)
        #expect(rest == nil)
    }

    @Test func anUnterminatedStringOrCommentKeepsTheRestInOneStatement() {
        let (pieces, rest) = InputSplitter.split("SELECT 'open; SELECT orders;\n")
        #expect(pieces.isEmpty)
        #expect(rest?.text == "SELECT 'open; SELECT orders;\n")
        let (none, onlyComments) = InputSplitter.split("-- nothing here\n/* or here */\n")
        #expect(none.isEmpty && onlyComments == nil)
    }
}
