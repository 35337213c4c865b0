import Foundation

/// A tenant's password rules for one audience (staff or customers): a preset or every knob set.
public struct PasswordPolicy: Codable, Sendable, Equatable {
    public var minimumLength: Int
    public var maximumLength: Int
    public var requireLetter: Bool
    public var requireDigit: Bool
    public var requireMixedCase: Bool
    public var requireSymbol: Bool
    /// How many previous passwords may not be reused (0: no history check).
    public var historyDepth: Int
    /// Days after which a change is forced (`nil`: never, as NIST advises).
    public var maximumAgeDays: Int?
    /// Refuse common and breached-style passwords.
    public var rejectCommon: Bool
    /// Refuse passwords containing the user's email address or name.
    public var rejectPersonalInformation: Bool

    enum CodingKeys: String, CodingKey {
        case minimumLength = "minimum_length"
        case maximumLength = "maximum_length"
        case requireLetter = "require_letter"
        case requireDigit = "require_digit"
        case requireMixedCase = "require_mixed_case"
        case requireSymbol = "require_symbol"
        case historyDepth = "history_depth"
        case maximumAgeDays = "maximum_age_days"
        case rejectCommon = "reject_common"
        case rejectPersonalInformation = "reject_personal_information"
    }

    public init(
        minimumLength: Int, maximumLength: Int, requireLetter: Bool = false, requireDigit: Bool = false,
        requireMixedCase: Bool = false, requireSymbol: Bool = false, historyDepth: Int = 0,
        maximumAgeDays: Int? = nil, rejectCommon: Bool = true, rejectPersonalInformation: Bool = true
    ) {
        self.minimumLength = minimumLength
        self.maximumLength = maximumLength
        self.requireLetter = requireLetter
        self.requireDigit = requireDigit
        self.requireMixedCase = requireMixedCase
        self.requireSymbol = requireSymbol
        self.historyDepth = historyDepth
        self.maximumAgeDays = maximumAgeDays
        self.rejectCommon = rejectCommon
        self.rejectPersonalInformation = rejectPersonalInformation
    }

    /// Decodes a preset by name (`"standards"`, `"pci"`) or every knob as an object.
    public init(from decoder: any Decoder) throws {
        if let name = try? decoder.singleValueContainer().decode(String.self) {
            switch name {
            case "standards": self = .standards
            case "pci": self = .pci
            default: throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "Unknown preset."))
            }
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            minimumLength: try c.decode(Int.self, forKey: .minimumLength), maximumLength: try c.decode(Int.self, forKey: .maximumLength),
            requireLetter: try c.decodeIfPresent(Bool.self, forKey: .requireLetter) ?? false,
            requireDigit: try c.decodeIfPresent(Bool.self, forKey: .requireDigit) ?? false,
            requireMixedCase: try c.decodeIfPresent(Bool.self, forKey: .requireMixedCase) ?? false,
            requireSymbol: try c.decodeIfPresent(Bool.self, forKey: .requireSymbol) ?? false,
            historyDepth: try c.decodeIfPresent(Int.self, forKey: .historyDepth) ?? 0,
            maximumAgeDays: try c.decodeIfPresent(Int.self, forKey: .maximumAgeDays),
            rejectCommon: try c.decodeIfPresent(Bool.self, forKey: .rejectCommon) ?? true,
            rejectPersonalInformation: try c.decodeIfPresent(Bool.self, forKey: .rejectPersonalInformation) ?? true
        )
    }

    /// OWASP ASVS / NIST SP 800-63B: length over composition, no forced rotation, no common passwords.
    public static let standards = PasswordPolicy(minimumLength: 12, maximumLength: 128)

    /// PCI DSS 4.0 (8.3.6, 8.3.7, 8.3.9): 12 characters with letters and digits, the last four
    /// passwords refused, a change forced every 90 days.
    public static let pci = PasswordPolicy(
        minimumLength: 12, maximumLength: 128, requireLetter: true, requireDigit: true,
        historyDepth: 4, maximumAgeDays: 90
    )

    /// Limits any customized policy must stay within.
    public enum Limits {
        public static let minimumLength = 8...64
        /// NIST: allow at least 64 characters.
        public static let maximumLength = 64...256
        public static let historyDepth = 0...24
        public static let maximumAgeDays = 1...365
    }

    /// The knobs that are out of range, each with its message; empty when the policy is usable.
    public func configurationProblems() -> [String] {
        var problems: [String] = []
        if !Limits.minimumLength.contains(minimumLength) { problems.append("minimum_length must be between 8 and 64") }
        if !Limits.maximumLength.contains(maximumLength) { problems.append("maximum_length must be between 64 and 256") }
        if minimumLength > maximumLength { problems.append("minimum_length must not exceed maximum_length") }
        if !Limits.historyDepth.contains(historyDepth) { problems.append("history_depth must be between 0 and 24") }
        if let days = maximumAgeDays, !Limits.maximumAgeDays.contains(days) { problems.append("maximum_age_days must be between 1 and 365") }
        return problems
    }

    /// Who the password is for, so it may not contain their identity.
    public struct Subject: Sendable {
        public var email: String
        public var name: String?

        public init(email: String, name: String?) {
            self.email = email
            self.name = name
        }
    }

    /// Every rule `password` breaks (history aside: see ``PasswordHistory``), in a stable order.
    public func violations(of password: String, for subject: Subject, common: CommonPasswords = .bundled) -> [PasswordRuleViolation] {
        let normalized = password.precomposedStringWithCompatibilityMapping
        let length = normalized.unicodeScalars.count
        var violations: [PasswordRuleViolation] = []
        if length < minimumLength { violations.append(.tooShort(minimum: minimumLength)) }
        if length > maximumLength { violations.append(.tooLong(maximum: maximumLength)) }
        let scalars = normalized.unicodeScalars
        if requireLetter && !scalars.contains(where: { $0.properties.isAlphabetic }) { violations.append(.missingLetter) }
        if requireDigit && !scalars.contains(where: { $0.properties.numericType != nil }) { violations.append(.missingDigit) }
        if requireMixedCase && !(scalars.contains(where: { $0.properties.isUppercase }) && scalars.contains(where: { $0.properties.isLowercase })) {
            violations.append(.missingMixedCase)
        }
        if requireSymbol && !scalars.contains(where: { !$0.properties.isAlphabetic && $0.properties.numericType == nil && !$0.properties.isWhitespace }) {
            violations.append(.missingSymbol)
        }
        if rejectCommon && common.contains(normalized) { violations.append(.common) }
        if rejectPersonalInformation && Self.containsPersonalInformation(normalized, subject) { violations.append(.containsPersonalInformation) }
        return violations
    }

    /// The email, its local part, or any name part of four or more characters, ignoring case.
    static func containsPersonalInformation(_ password: String, _ subject: Subject) -> Bool {
        let lowered = password.lowercased()
        let email = subject.email.lowercased()
        var fragments = [email]
        if let local = email.split(separator: "@").first { fragments.append(String(local)) }
        fragments += email.split(separator: "@").first.map { $0.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init) } ?? []
        fragments += (subject.name ?? "").lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
        return fragments.contains { $0.count >= 4 && lowered.contains($0) }
    }
}

/// One broken password rule, with the message the user sees.
public enum PasswordRuleViolation: Equatable, Sendable {
    case tooShort(minimum: Int)
    case tooLong(maximum: Int)
    case missingLetter
    case missingDigit
    case missingMixedCase
    case missingSymbol
    case common
    case containsPersonalInformation
    case reused(depth: Int)

    /// A stable machine-readable code.
    public var code: String {
        switch self {
        case .tooShort: "password_too_short"
        case .tooLong: "password_too_long"
        case .missingLetter: "password_needs_letter"
        case .missingDigit: "password_needs_digit"
        case .missingMixedCase: "password_needs_mixed_case"
        case .missingSymbol: "password_needs_symbol"
        case .common: "password_too_common"
        case .containsPersonalInformation: "password_contains_personal_information"
        case .reused: "password_reused"
        }
    }

    /// What the user should do, in plain words.
    public var message: String {
        switch self {
        case .tooShort(let minimum): "Use at least \(minimum) characters."
        case .tooLong(let maximum): "Use at most \(maximum) characters."
        case .missingLetter: "Include at least one letter."
        case .missingDigit: "Include at least one digit."
        case .missingMixedCase: "Include both upper- and lowercase letters."
        case .missingSymbol: "Include at least one symbol."
        case .common: "This password is too common or too easy to guess; choose another."
        case .containsPersonalInformation: "Don't use your email address or name in your password."
        case .reused(let depth): "Choose a password different from your last \(depth)."
        }
    }
}

/// The reuse rule: a new password must differ from the last `depth` ones (checked against their hashes).
public enum PasswordHistory {
    public static func violation(
        _ password: String, previousHashes: [String], depth: Int, hasher: PasswordHasher
    ) async throws -> PasswordRuleViolation? {
        guard depth > 0 else { return nil }
        for hash in previousHashes.prefix(depth) {
            if case .match = try await hasher.verify(password, against: hash) { return .reused(depth: depth) }
        }
        return nil
    }

    /// Whether a password set at `changedAt` must be changed now under `policy`.
    public static func isExpired(changedAt: Date, policy: PasswordPolicy, now: Date = .now) -> Bool {
        guard let days = policy.maximumAgeDays else { return false }
        return now.timeIntervalSince(changedAt) > TimeInterval(days) * 86400
    }
}
