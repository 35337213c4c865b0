import PostgresNIO

extension PostgresRowSequence {
    /// Whether the query returned a row; reads them all, so the connection is free afterwards.
    public func any() async throws -> Bool {
        var found = false
        for try await _ in self { found = true }
        return found
    }
}
