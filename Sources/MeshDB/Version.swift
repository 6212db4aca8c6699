/// MeshDB's release, shown by `meshdb --version` and sent to clients as `meshdb_version`.
public enum MeshDBVersion {
    public static let string = "0.1.0"
}
