/// A tenant's helpdesk settings.
struct TicketSettings: Codable, Sendable, Equatable {
    /// Whether customers see the tickets of everyone in their organization, not only their own.
    var customersSeeOrganization = false
    /// Card-number digits kept visible at the start (0–6) and end (0–4).
    var cardKeepFirst = 6
    var cardKeepLast = 4
    /// The largest attachment accepted, in bytes (1 KiB – 25 MiB).
    var attachmentMaxBytes = 10 * 1024 * 1024
    /// Days a deleted ticket stays in the recycle bin before it is deleted for good (1–3650).
    var recycleBinDays = 30
    /// Days after its last change a closed ticket is deleted for good (30–3650); 0 keeps closed tickets.
    var closedTicketDays = 0
    /// What a customer's data-subject erasure does with the tickets they requested.
    var erasureTicketContent = ErasureTicketContent.keep

    enum CodingKeys: String, CodingKey, CaseIterable {
        case customersSeeOrganization = "customers_see_organization"
        case cardKeepFirst = "card_keep_first"
        case cardKeepLast = "card_keep_last"
        case attachmentMaxBytes = "attachment_max_bytes"
        case recycleBinDays = "recycle_bin_days"
        case closedTicketDays = "closed_ticket_days"
        case erasureTicketContent = "erasure_ticket_content"
    }

    var redactor: CardRedactor { CardRedactor(keepFirst: cardKeepFirst, keepLast: cardKeepLast) }

    /// The hard ceiling on attachments: the gateway's upload body class.
    static let attachmentCeiling = 25 * 1024 * 1024
}

/// The tenant's policy for a customer's tickets when the customer is erased: `keep` them (the
/// default: the helpdesk's record stays, the requester becomes an anonymized person) or `delete`
/// them with their messages and attachments.
enum ErasureTicketContent: String, Codable, Sendable {
    case keep, delete
}
