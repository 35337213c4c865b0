import RampartStorage

/// The `identity` schema's migrations, in version order. Never edit one that has shipped: add the next.
public enum IdentityMigrations {
    public static let all: [Migration] = []
}
