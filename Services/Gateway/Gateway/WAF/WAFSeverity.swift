/// How bad a match is; its score is added to the request's anomaly score.
public enum WAFSeverity: String, Sendable, Codable {
    /// 5 points: one match blocks at the default threshold.
    case critical
    /// 4 points.
    case error
    /// 3 points.
    case warning
    /// 2 points.
    case notice

    /// The anomaly score: critical 5, error 4, warning 3, notice 2.
    public var score: Int {
        switch self {
        case .critical: 5
        case .error: 4
        case .warning: 3
        case .notice: 2
        }
    }
}
