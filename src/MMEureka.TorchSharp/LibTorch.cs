using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MMEureka.Twin;

/// <summary>
/// Makes TorchSharp's native library loadable before anything touches <c>torch</c>, and says why when it cannot.
/// <para>
/// libLibTorchSharp.so of TorchSharp 0.107 asks for GCC 13's libstdc++ (symbol version GLIBCXX_3.4.32) through one
/// symbol, <c>std::ios_base_library_init()</c>. Systems with GCC 12's libstdc++ (Debian 12, Ubuntu 22.04) refuse to
/// load it. <c>bash environment/setup.sh --torchsharp</c> prepares a private copy in artifacts/torchsharp-native/
/// whose requirement is weak and which links a one-function library providing that symbol
/// (src/MMEureka.TorchSharp/Native/). This class loads that copy when the original does not load.
/// </para>
/// <para>
/// Why check first instead of letting TorchSharp fail: when its regular load fails, TorchSharp copies every libtorch
/// library (about 500 MB) next to TorchSharp.dll and tries again, which fails the same way.
/// </para>
/// </summary>
public static class LibTorch
{
    /// <summary>The libstdc++ symbol version the stock libLibTorchSharp.so needs.</summary>
    public const string RequiredGlibcxx = "GLIBCXX_3.4.32";

    /// <summary>Environment variable naming a prepared private copy of libLibTorchSharp.so (overrides the search).</summary>
    public const string PrivateCopyVariable = "MMEUREKA_LIBTORCHSHARP";

    static readonly object Gate = new();
    static bool _tried;
    static string? _error;
    static string _how = "";

    /// <summary>True when TorchSharp's native backend is loaded (loading it on the first call);
    /// otherwise <paramref name="error"/> says why and what to do, in one paragraph.</summary>
    public static bool TryLoad(out string error)
    {
        lock (Gate)
        {
            if (!_tried)
            {
                _tried = true;
                _error = Load();
            }
            error = _error ?? "";
            return _error == null;
        }
    }

    /// <summary>Loads the native backend or throws <see cref="InvalidOperationException"/> with the reason.</summary>
    public static void EnsureLoaded()
    {
        if (!TryLoad(out var error)) throw new InvalidOperationException(error);
    }

    /// <summary>One line: TorchSharp and libtorch versions, how the native library was loaded, threads.</summary>
    public static string Describe()
    {
        EnsureLoaded();
        return $"TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)}, libtorch {__version__} ({_how}), " +
               $"{get_num_threads()} threads, CUDA {(cuda.is_available() ? $"available ({cuda.device_count()} devices)" : "not available")}";
    }

    /// <summary>The device for <paramref name="name"/> ("cpu", "cuda", "cuda:1"); a clear error when CUDA is asked
    /// for and this libtorch build has none.</summary>
    public static Device Device(string name)
    {
        EnsureLoaded();
        if (name == "cpu") return CPU;
        if (!name.StartsWith("cuda", StringComparison.Ordinal))
            throw new ArgumentException($"--device must be cpu, cuda or cuda:N, got '{name}'");
        if (!torch.TryInitializeDeviceType(DeviceType.CUDA) || !cuda.is_available())
            throw new InvalidOperationException(
                $"--device {name}: this build has no CUDA (libtorch {__version__} CPU, or no GPU/driver visible). " +
                "On a machine with an NVIDIA GPU, build the twin against libtorch's CUDA package from nuget.org: " +
                "dotnet build src/MMEureka.TorchSharp -c Release -p:LibTorch=cuda (see README, section TorchSharp).");
        return torch.device(name);
    }

    static string? Load()
    {
        var asm = typeof(torch).Assembly;
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            return Initialise("stock native library");

        // libtorch first, found the way TorchSharp itself finds it (deps.json next to the app), so that both see the
        // same file: two copies of libtorch_cpu.so in one process abort on duplicate operator registrations.
        var runtimeNative = Path.Combine(Path.GetDirectoryName(asm.Location)!, "runtimes", "linux-x64", "native");
        if (!NativeLibrary.TryLoad("torch_cpu", asm, null, out _))
        {
            var direct = Path.Combine(runtimeNative, "libtorch_cpu.so");
            if (!File.Exists(direct) || !NativeLibrary.TryLoad(direct, out _))
                return "libtorch is not restored for this build: TorchSharp.dll is at " + Path.GetDirectoryName(asm.Location) +
                       " but no libtorch_cpu.so is next to it. Build the twin with: dotnet build src/MMEureka.TorchSharp -c Release " +
                       "(it restores libtorch-cpu-linux-x64 2.10.0, about 600 MB).";
        }
        NativeLibrary.TryLoad("torch", asm, null, out _);
        if (!NativeLibrary.TryLoad("c10", asm, null, out _)) NativeLibrary.TryLoad(Path.Combine(runtimeNative, "libc10.so"), out _);

        string stockError;
        try
        {
            if (NativeLibrary.TryLoad("LibTorchSharp", asm, null, out _)) return Initialise("stock native library");
            var stock = Path.Combine(runtimeNative, "libLibTorchSharp.so");
            NativeLibrary.Load(File.Exists(stock) ? stock : "libLibTorchSharp.so");
            return Initialise("stock native library");
        }
        catch (DllNotFoundException e) { stockError = e.Message; }
        catch (BadImageFormatException e) { stockError = e.Message; }

        bool glibcxx = stockError.Contains(RequiredGlibcxx, StringComparison.Ordinal);
        var copy = FindPrivateCopy();
        if (copy != null)
        {
            try
            {
                NativeLibrary.Load(copy);
                return Initialise($"private copy {copy}");
            }
            catch (DllNotFoundException e)
            {
                return $"the prepared copy {copy} does not load either ({FirstLine(e.Message)}); prepare it again with " +
                       "bash environment/setup.sh --torchsharp";
            }
        }
        if (glibcxx)
            return $"TorchSharp's libLibTorchSharp.so needs GCC 13's libstdc++ ({RequiredGlibcxx}: Ubuntu 24.04, Debian 13 or newer), " +
                   "and this system's is older. Either prepare a patched private copy with: bash environment/setup.sh --torchsharp " +
                   "(patchelf + g++; it touches nothing outside artifacts/torchsharp-native), or run on a system with GCC 13's libstdc++.";
        return $"libLibTorchSharp.so does not load: {FirstLine(stockError)}";
    }

    static string? Initialise(string how)
    {
        try
        {
            InitializeDeviceType(DeviceType.CPU);
            _how = how;
            return null;
        }
        catch (Exception e) when (e is TypeInitializationException or NotSupportedException or DllNotFoundException or InvalidOperationException)
        {
            return $"TorchSharp did not initialise ({how}): {FirstLine((e.InnerException ?? e).Message)}";
        }
    }

    /// <summary>$MMEUREKA_LIBTORCHSHARP, else artifacts/torchsharp-native/libLibTorchSharp.so in the first folder above
    /// this assembly that has an artifacts/ folder (the repository's build output).</summary>
    static string? FindPrivateCopy()
    {
        if (Environment.GetEnvironmentVariable(PrivateCopyVariable) is { Length: > 0 } env)
            return File.Exists(env) ? env : null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "artifacts", "torchsharp-native", "libLibTorchSharp.so");
            if (File.Exists(candidate)) return candidate;
            if (dir.Name == "artifacts" && File.Exists(Path.Combine(dir.FullName, "torchsharp-native", "libLibTorchSharp.so")))
                return Path.Combine(dir.FullName, "torchsharp-native", "libLibTorchSharp.so");
        }
        return null;
    }

    static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();
}
