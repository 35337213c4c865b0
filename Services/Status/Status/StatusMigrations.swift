import RampartStorage

/// The `status` schema's migrations, in version order. Never edit one that has shipped: add the next.
public enum StatusMigrations {
    public static let all: [Migration] = []
}
