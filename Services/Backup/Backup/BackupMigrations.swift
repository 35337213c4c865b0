import RampartStorage

/// The `backup` schema's migrations, in version order. Never edit one that has shipped: add the next.
public enum BackupMigrations {
    public static let all: [Migration] = []
}
