// libFuzzer target (make fuzz): the frame decoder on arbitrary byte streams. See FrameChecks.
import PortalLinksFuzzChecks

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    do { try FrameChecks.check(UnsafeRawBufferPointer(start: start, count: count)) } catch { fatalError("\(error)") }
    return 0
}
