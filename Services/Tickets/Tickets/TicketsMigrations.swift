import RampartStorage

/// The `tickets` schema's migrations, in version order. Never edit one that has shipped: add the next.
public enum TicketsMigrations {
    public static let all: [Migration] = []
}
