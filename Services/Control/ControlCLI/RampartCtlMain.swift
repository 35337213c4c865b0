import Control

@main
struct RampartCtlMain {
    static func main() async {
        await RampartCtl.main()
    }
}
