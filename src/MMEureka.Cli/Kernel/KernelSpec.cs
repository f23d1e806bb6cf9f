using System.Text.Json;
using System.Text.Json.Nodes;

namespace MMEureka.Cli.Kernel;

/// <summary>
/// The kernelspec that tells Jupyter (JupyterLab, VS Code's Jupyter extension, nbclient) how to start this kernel:
/// a folder <c>kernels/NAME/kernel.json</c> under a Jupyter data directory.
/// </summary>
public static class KernelSpec
{
    /// <summary>The kernelspec name (distinct from .NET Interactive's <c>.net-csharp</c>).</summary>
    public const string DefaultName = "mmeureka-csharp";

    /// <summary>What Jupyter shows in its kernel picker.</summary>
    public const string DisplayName = "C# (MMEureka kernel)";

    /// <summary>
    /// The kernels folder: <c>PREFIX/share/jupyter/kernels</c> with a prefix, else the user's Jupyter data directory
    /// (JUPYTER_DATA_DIR, else ~/.local/share/jupyter on Linux, ~/Library/Jupyter on macOS, %APPDATA%\jupyter on Windows).
    /// </summary>
    public static string KernelsDirectory(string? prefix)
    {
        if (prefix is not null) return Path.Combine(Path.GetFullPath(prefix), "share", "jupyter", "kernels");
        var data = Environment.GetEnvironmentVariable("JUPYTER_DATA_DIR");
        if (string.IsNullOrEmpty(data))
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            data = OperatingSystem.IsWindows() ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), "jupyter")
                : OperatingSystem.IsMacOS() ? Path.Combine(home, "Library", "Jupyter")
                : Path.Combine(Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(home, ".local", "share"), "jupyter");
        }
        return Path.Combine(data, "kernels");
    }

    /// <summary>The command that starts this build as a kernel: the executable (or dotnet and the dll) plus the kernel verb.</summary>
    public static string[] Argv()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which executable is running");
        var dll = typeof(KernelSpec).Assembly.Location;
        string[] start = Path.GetFileNameWithoutExtension(process) == "dotnet" ? [process, dll] : [process];
        return [.. start, "kernel", "--connection-file", "{connection_file}"];
    }

    /// <summary>kernel.json's content.</summary>
    public static JsonObject Json(string[] argv) => new()
    {
        ["argv"] = new JsonArray(argv.Select(a => (JsonNode)a).ToArray()),
        ["display_name"] = DisplayName,
        ["language"] = "C#",
        // Interrupts come as interrupt_request on the control channel: .NET's default SIGINT would end the process.
        ["interrupt_mode"] = "message",
        ["metadata"] = new JsonObject { ["debugger"] = false },
    };

    /// <summary>Writes <c>KERNELS/NAME/kernel.json</c> (temporary file, then rename) and returns the folder.</summary>
    public static string Install(string kernelsDirectory, string name, string[] argv)
    {
        var folder = Path.Combine(kernelsDirectory, name);
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "kernel.json");
        var tmp = file + ".tmp";
        File.WriteAllText(tmp, Json(argv).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.Move(tmp, file, overwrite: true);
        return folder;
    }

    /// <summary>Removes <c>KERNELS/NAME</c>; false when it was not there.</summary>
    public static bool Uninstall(string kernelsDirectory, string name)
    {
        var folder = Path.Combine(kernelsDirectory, name);
        if (!Directory.Exists(folder)) return false;
        Directory.Delete(folder, recursive: true);
        return true;
    }
}
