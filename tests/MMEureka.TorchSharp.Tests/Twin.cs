using MMEureka.Models;
using MMEureka.Twin;

namespace MMEureka.TorchSharp.Tests;

/// <summary>Shared set-up: skip (with the loader's reason) where libtorch cannot load; small checkpoints on disk.</summary>
internal static class Twin
{
    /// <summary>Skips the calling test, printing why, when TorchSharp's native library does not load here.</summary>
    public static void RequireLibTorch()
    {
        bool ok = LibTorch.TryLoad(out var why);
        if (!ok && Interlocked.Exchange(ref _told, 1) == 0) Console.Error.WriteLine($"MMEureka.TorchSharp.Tests skipped: {why}");
        Skip.IfNot(ok, why);
    }

    static int _told;

    /// <summary>The tiny preset's shape with a shorter text window (faster), as the engine initialises it.</summary>
    public static MiniVlmConfig Tiny => MiniVlmConfig.ForPreset("tiny") with { MaxTextLen = 64 };

    /// <summary>A fresh folder under the temp directory.</summary>
    public static string TempDir(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"mmeureka-twin-{name}-{Guid.NewGuid():N}");
        return dir;
    }

    /// <summary>Writes an engine-initialised checkpoint of <paramref name="config"/> and returns its folder.</summary>
    public static string Checkpoint(MiniVlmConfig config, long seed, string name)
    {
        var dir = TempDir(name);
        new MiniVlm(config, seed).Save(dir);
        return dir;
    }
}
