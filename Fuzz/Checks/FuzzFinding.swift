/// A promise the code under test broke for one input: what was expected and what happened. The fuzz
/// targets crash with it (so libFuzzer keeps the input); the corpus tests report it.
public struct FuzzFinding: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws(FuzzFinding) {
    if !condition { throw FuzzFinding(message()) }
}
