import MeshDB
print("meshdb-microbench \(MeshDBVersion.string)")
