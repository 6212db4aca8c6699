/// MeshDB's release, shown by `meshdb --version`, the `mesh.version` setting and sent to clients as `meshdb_version`.
public enum MeshDBVersion {
    public static let string = "0.1.0"
    /// What `server_version` reports: PostgreSQL drivers branch on it, so it names the PostgreSQL
    /// version whose protocol and behaviour MeshDB follows, with MeshDB's own in parentheses.
    public static let postgresCompatible = "15.0 (MeshDB \(string))"
}
