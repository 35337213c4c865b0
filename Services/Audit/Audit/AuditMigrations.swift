import RampartStorage

/// The `audit` schema's migrations, in version order. Never edit one that has shipped: add the next.
public enum AuditMigrations {
    public static let all: [Migration] = []
}
