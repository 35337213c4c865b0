@testable import RampartStorage
import Testing

@Suite("SQL scripts")
struct SQLScriptTests {
    @Test func splitsOnSemicolonsOutsideQuotesCommentsAndDollarBodies() {
        let script = """
            -- a comment; not a statement
            CREATE TABLE t (note text DEFAULT 'a;b', "odd;name" int);
            /* block; comment */
            CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN RAISE EXCEPTION 'no; way'; END $body$ LANGUAGE plpgsql;
            INSERT INTO t VALUES ('it''s; fine')
            """
        #expect(SQLScript.statements(script) == [
            #"CREATE TABLE t (note text DEFAULT 'a;b', "odd;name" int)"#,
            "CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN RAISE EXCEPTION 'no; way'; END $body$ LANGUAGE plpgsql",
            "INSERT INTO t VALUES ('it''s; fine')",
        ])
    }

    @Test func emptyScriptHasNoStatements() {
        #expect(SQLScript.statements(" ;\n-- only a comment\n;").isEmpty)
    }
}
