import Testing
import MeshDB

@Test func versionIsSemantic() {
    #expect(MeshDBVersion.string.split(separator: ".").count == 3)
}
