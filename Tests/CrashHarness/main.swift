import MeshDB
print("meshdb-crash-harness \(MeshDBVersion.string)")
