// GCC 13's <iostream> makes every translation unit reference std::ios_base_library_init() (symbol version
// GLIBCXX_3.4.32) so that the program pulls in a libstdc++ that constructs the standard streams itself.
// libLibTorchSharp.so (TorchSharp 0.107) was built that way, but it is the only GCC 13 symbol it needs, and
// an older libstdc++ (GCC 12: Debian 12, Ubuntu 22.04) constructs the streams through the ios_base::Init
// objects that libtorch's own translation units carry. So an empty definition is enough: it satisfies the
// reference, and the streams are set up as before.
namespace std {
void ios_base_library_init() {}
}
