using System.Text.Json.Nodes;
using MMEureka.Cli.Commands;
using MMEureka.Cli.Notebooks;

namespace MMEureka.Cli.Tests.Notebooks;

/// <summary>Builds Polyglot notebooks in temporary folders and runs them through the verb's code path.</summary>
public static class TestNotebooks
{
    public static string RepoRoot { get; } = FindRepoRoot();

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MMEureka.Notebooks.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    // artifacts/bin/MMEureka.Cli.Tests/<config>/ -> the same configuration of the other projects.
    static string Configuration => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;

    public static string LibraryDll => Path.Combine(RepoRoot, "artifacts", "bin", "MMEureka", Configuration, "MMEureka.dll");

    public static string TorchDll => Path.Combine(Path.GetDirectoryName(LibraryDll)!, "MMEureka.Torch.dll");

    public static string CliExecutable => Path.Combine(RepoRoot, "artifacts", "bin", "MMEureka.Cli", Configuration, "MMEureka.Cli");

    public static string NewFolder()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mmeureka-nb-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Writes a notebook with Polyglot metadata; cells are ("code" | "markdown", source).</summary>
    public static string Write(string folder, string name, params (string Type, string Source)[] cells)
    {
        var array = new JsonArray();
        foreach (var (type, source) in cells)
        {
            var cell = new JsonObject { ["cell_type"] = type, ["source"] = source };
            if (type == "code")
            {
                cell["metadata"] = JsonNode.Parse("""{"dotnet_interactive": {"language": "csharp"}, "polyglot_notebook": {"kernelName": "csharp"}}""");
                cell["execution_count"] = null;
                cell["outputs"] = new JsonArray();
            }
            else cell["metadata"] = new JsonObject();
            array.Add(cell);
        }
        var nb = new JsonObject
        {
            ["cells"] = array,
            ["metadata"] = JsonNode.Parse("""
                {"kernelspec": {"display_name": ".NET (C#)", "language": "C#", "name": ".net-csharp"},
                 "language_info": {"name": "polyglot-notebook"},
                 "polyglot_notebook": {"kernelInfo": {"defaultKernelName": "csharp", "items": [{"aliases": [], "name": "csharp"}]}}}
                """),
            ["nbformat"] = 4,
            ["nbformat_minor"] = 4, // older minor without ids: the runner must upgrade to 4.5
        };
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, nb.ToJsonString());
        return path;
    }

    public sealed record Outcome(int ExitCode, string Progress, string Errors, string OutDir)
    {
        public JsonObject Notebook(string name) => (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(OutDir, name + ".ipynb")))!;
        public string Report(string name) => File.ReadAllText(Path.Combine(OutDir, name + ".html"));
    }

    public static Outcome Run(string notebook, double timeoutSeconds = 600, params string[] parameters)
    {
        var outDir = Path.Combine(Path.GetDirectoryName(notebook)!, "out");
        var progress = new StringWriter();
        var errors = new StringWriter();
        int code = NotebookCommand.Run([notebook], outDir, parameters, timeoutSeconds, inPlace: false, new TerminalProgress(progress, interactive: false), errors);
        return new Outcome(code, progress.ToString(), errors.ToString(), outDir);
    }

    public static JsonArray Cells(JsonObject nb) => (JsonArray)nb["cells"]!;

    public static JsonArray Outputs(JsonObject nb, int cellNumber) => (JsonArray)Cells(nb)[cellNumber - 1]!["outputs"]!;

    public static string Text(JsonNode? node) => node switch
    {
        JsonArray a => string.Concat(a.Select(x => x!.GetValue<string>())),
        JsonValue v => v.GetValue<string>(),
        _ => "",
    };
}
