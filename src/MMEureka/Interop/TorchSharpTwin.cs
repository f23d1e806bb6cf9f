using System.Diagnostics;

namespace MMEureka.Interop;

/// <summary>What one run of the twin's executable printed, and its exit code.</summary>
/// <param name="ExitCode">0 ok, 1 bad input or a failed check, 3 libtorch does not load here, -1 not built.</param>
/// <param name="Output">Standard output (JSON with --json).</param>
/// <param name="Error">Standard error: progress lines, or the reason it could not run.</param>
public sealed record TwinRun(int ExitCode, string Output, string Error)
{
    /// <summary>True when the twin ran and its check passed.</summary>
    public bool Ok => ExitCode == 0;
    /// <summary>True when the twin is built and libtorch loads (whatever the check said).</summary>
    public bool Available => ExitCode is not (TorchSharpTwin.NotBuilt or TorchSharpTwin.Unavailable);
}

/// <summary>
/// The TorchSharp twin of MiniVlm (src/MMEureka.TorchSharp) is a separate executable that only users who want libtorch
/// build (it restores about 600 MB). This class finds and starts it, so that the <c>mmeureka</c> command and the
/// notebooks can use it when it is there and say how to get it when it is not, without referencing libtorch.
/// </summary>
public static class TorchSharpTwin
{
    /// <summary>Exit code of <see cref="Run"/> when the executable is not built.</summary>
    public const int NotBuilt = -1;
    /// <summary>Exit code of the twin when TorchSharp's native library does not load on this machine.</summary>
    public const int Unavailable = 3;

    /// <summary>How to build the twin.</summary>
    public const string BuildHint = "build it with: dotnet build src/MMEureka.TorchSharp -c Release (restores libtorch-cpu 2.10, about 600 MB); " +
                                    "on Debian 12 / Ubuntu 22.04 (libstdc++ older than GCC 13's) also: bash environment/setup.sh --torchsharp";

    /// <summary>The twin's executable (artifacts/bin/MMEureka.TorchSharp/release/MMEureka.TorchSharp), looked for above the
    /// current folder and above this assembly's folder; null when it is not built.</summary>
    public static string? Locate()
    {
        var name = OperatingSystem.IsWindows() ? "MMEureka.TorchSharp.exe" : "MMEureka.TorchSharp";
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory, Path.GetDirectoryName(typeof(TorchSharpTwin).Assembly.Location) })
        {
            if (string.IsNullOrEmpty(start)) continue;
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "artifacts", "bin", "MMEureka.TorchSharp", "release", name);
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }

    /// <summary>Runs the twin with <paramref name="args"/> and captures what it prints.</summary>
    public static TwinRun Run(params string[] args)
    {
        var exe = Locate();
        if (exe == null) return new TwinRun(NotBuilt, "", $"the TorchSharp twin is not built; {BuildHint}");
        var start = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {exe}");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return new TwinRun(process.ExitCode, output, error.Result);
    }

    /// <summary>Runs the twin with this console as its own (for the CLI); prints the build hint and returns 1 when it is
    /// not built.</summary>
    public static int RunAttached(IEnumerable<string> args)
    {
        var exe = Locate();
        if (exe == null)
        {
            Console.Error.WriteLine($"error: the TorchSharp twin is not built; {BuildHint}");
            return 1;
        }
        var start = new ProcessStartInfo(exe) { UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {exe}");
        process.WaitForExit();
        return process.ExitCode;
    }
}
