using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;

namespace MMEureka.Cli.Notebooks;

/// <summary>How to run notebooks.</summary>
public sealed record RunOptions
{
    /// <summary>Folder for the executed notebooks and their HTML reports.</summary>
    public string OutDir { get; init; } = Path.Combine("runs", "notebooks");

    /// <summary>Overwrite the input notebook (atomically) instead of writing to <see cref="OutDir"/>; the report still goes there.</summary>
    public bool InPlace { get; init; }

    /// <summary>Longest a single cell may run; null (the default) lets every cell run to the end, however slow the machine.</summary>
    public TimeSpan? CellTimeout { get; init; }

    /// <summary>Runner parameters; key k becomes the environment variable MMEUREKA_K during the run.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>Draws static pictures of the charts into the written notebook (for GitHub's view); null: none.</summary>
    public ChartPictures? ChartPictures { get; init; }

    /// <summary>An offline plotly.min.js for the report; null: look for environment/node_modules above the notebook, else the CDN.</summary>
    public string? PlotlyScriptPath { get; init; }
}

/// <summary>The outcome of one notebook.</summary>
public sealed record NotebookResult(string Notebook, string WrittenNotebook, string Report, NotebookCell? FailedCell, string? Failure)
{
    /// <summary>True when every code cell ran.</summary>
    public bool Succeeded => FailedCell is null;
}

/// <summary>
/// Runs the C# cells of a Polyglot notebook in order in one Roslyn scripting session, as .NET Interactive's C# kernel
/// does (RunAsync, then ContinueWithAsync per cell; latest language version; its default imports; display/HTML/CSS/
/// Javascript as globals). Captures outputs per cell, stops at the first failure, and always writes the executed
/// notebook and its HTML report.
/// </summary>
public static class NotebookRunner
{
    /// <summary>.NET Interactive's default C# imports.</summary>
    public static readonly string[] DefaultImports =
        ["System", "System.Text", "System.Collections", "System.Collections.Generic", "System.Threading.Tasks", "System.Linq"];

    static readonly Regex ParameterKey = new("^[A-Za-z][A-Za-z0-9_]*$");
    static readonly Regex PlotlyInteractive = new("^nuget:\\s*Plotly\\.NET\\.Interactive\\s*(,\\s*[0-9][0-9A-Za-z.+-]*)?\\s*$", RegexOptions.IgnoreCase);
    static readonly Regex ReferenceDirective = new("^#r\\s+\"(?<path>[^\"]*)\"\\s*$");

    // The console, working directory and environment are process-wide: one notebook at a time per process.
    static readonly object ProcessState = new();

    /// <summary>Checks a parameter key and returns its environment variable name (MMEUREKA_KEY).</summary>
    public static string ParameterVariable(string key)
    {
        if (!ParameterKey.IsMatch(key))
            throw new ArgumentException($"parameter name '{key}' must start with a letter and contain only letters, digits and '_'");
        return "MMEUREKA_" + key.ToUpperInvariant();
    }

    /// <summary>Where the executed notebook and the report of <paramref name="notebook"/> go.</summary>
    public static (string Notebook, string Report) OutputPaths(string notebook, RunOptions options)
    {
        var name = Path.GetFileNameWithoutExtension(notebook);
        var outDir = Path.GetFullPath(options.OutDir);
        return (options.InPlace ? Path.GetFullPath(notebook) : Path.Combine(outDir, name + ".ipynb"), Path.Combine(outDir, name + ".html"));
    }

    /// <summary>
    /// Runs one notebook. A malformed file throws <see cref="NotebookFormatException"/> before anything runs or is
    /// written; a failing cell is reported in the result (and in the written notebook), not thrown.
    /// </summary>
    public static NotebookResult Run(string notebookPath, RunOptions options, TerminalProgress progress)
    {
        var doc = NotebookDocument.Load(notebookPath);
        var fullPath = Path.GetFullPath(notebookPath);
        var folder = Path.GetDirectoryName(fullPath)!;
        var (outNotebook, outReport) = OutputPaths(notebookPath, options);
        var variables = options.Parameters.ToDictionary(kv => ParameterVariable(kv.Key), kv => kv.Value);

        lock (ProcessState)
        {
            var savedDirectory = Environment.CurrentDirectory;
            var savedVariables = variables.Keys.ToDictionary(k => k, Environment.GetEnvironmentVariable);
            var (savedOut, savedError) = (Console.Out, Console.Error);
            (NotebookCell Cell, string Message)? failure;
            try
            {
                // Like VS Code: the notebook's folder is the working directory, so relative paths in cells work.
                Environment.CurrentDirectory = folder;
                foreach (var (k, v) in variables) Environment.SetEnvironmentVariable(k, v);
                failure = RunCells(doc, folder, options, progress);
            }
            finally
            {
                Console.SetOut(savedOut);
                Console.SetError(savedError);
                Environment.CurrentDirectory = savedDirectory;
                foreach (var (k, v) in savedVariables) Environment.SetEnvironmentVariable(k, v);
            }
            options.ChartPictures?.AddTo(doc, progress);
            if (options.InPlace) doc.Save(fullPath);
            else doc.Save(outNotebook);
            var plotly = options.PlotlyScriptPath ?? HtmlReport.FindOfflinePlotly(folder);
            AtomicFile.WriteAllText(outReport, HtmlReport.Render(doc, plotly));
            return new NotebookResult(notebookPath, outNotebook, outReport, failure?.Cell, failure?.Message);
        }
    }

    static (NotebookCell, string)? RunCells(NotebookDocument doc, string folder, RunOptions options, TerminalProgress progress)
    {
        var kernel = doc.DefaultKernel;
        var codeCells = doc.Cells.Where(c => c.Type == "code").ToList();
        progress.Notebook(doc.Path, codeCells.Count);
        foreach (var c in codeCells) { c.Outputs = []; c.ExecutionCount = null; }

        var session = new CellSession(folder);
        int executionCount = 0;

        foreach (var cell in codeCells)
        {
            var label = $"cell {cell.Number}/{doc.Cells.Count}: {Shorten(cell.FirstLine)}";
            var language = CellLanguage(cell, kernel);
            if (language is not ("csharp" or "c#"))
                return Fail(cell, progress, label, "UnsupportedKernel",
                    $"cell {cell.Number} is a '{language}' cell; the runner executes C# cells only (set the cell's kernel to C# or make it markdown)", null);
            if (string.IsNullOrWhiteSpace(cell.Source)) continue;

            cell.ExecutionCount = ++executionCount;
            var outputs = new CellOutputs();

            // Compile first, outside the timeout: the first cell pays for warming up the compiler, not the user's code.
            var clock = Stopwatch.StartNew();
            var execution = session.Compile(cell, outputs, executionCount);
            if (execution.Failure is not null)
            {
                cell.Outputs = outputs.Snapshot();
                return Fail(cell, progress, label, null, execution.Failure, clock.Elapsed);
            }
            // The terminal hears from a long cell as it runs (its lines, or a heartbeat), never from a quick one.
            var watch = new CellWatch(progress, label);
            execution.Start(watch.Tee);
            // A running script thread cannot be aborted in .NET: on timeout stop waiting, keep what it wrote, and let
            // the process exit end the (background) thread.
            bool finished = progress.Wait(label, () => watch.Join(execution.Worker!, options.CellTimeout));
            watch.Close();
            // A timed-out cell keeps writing into its own (now closed) outputs, never into the terminal progress.

            if (!finished)
            {
                var message = $"cell {cell.Number} did not finish within {options.CellTimeout!.Value.TotalSeconds:0.###} s (--cell-timeout)";
                outputs.Error("CellTimeout", message, [message]);
                outputs.Close();
                cell.Outputs = outputs.Snapshot();
                return Fail(cell, progress, label, null, message, clock.Elapsed);
            }
            var failure = execution.Finish();
            outputs.Close();
            cell.Outputs = outputs.Snapshot();
            if (failure is not null) return Fail(cell, progress, label, null, failure, clock.Elapsed);
            progress.CellDone(label, clock.Elapsed, ok: true);
        }
        return null;
    }

    static (NotebookCell, string) Fail(NotebookCell cell, TerminalProgress progress, string label, string? ename, string message, TimeSpan? elapsed)
    {
        if (ename is not null)
        {
            // Failures found before the cell ran (e.g. an unsupported kernel) still leave an error output behind.
            var outputs = new CellOutputs();
            outputs.Error(ename, message, [message]);
            cell.Outputs = outputs.Snapshot();
        }
        progress.CellDone(label, elapsed ?? TimeSpan.Zero, ok: false, message);
        return (cell, message);
    }

    static string CellLanguage(NotebookCell cell, string kernel)
    {
        var language = (cell.Metadata["polyglot_notebook"]?["kernelName"] ?? cell.Metadata["dotnet_interactive"]?["language"])?.GetValue<string>() ?? kernel;
        return language.ToLowerInvariant() switch { "c#" or "csharp" or ".net-csharp" => "csharp", var other => other };
    }

    /// <summary>
    /// Checks the directives .NET Interactive handles itself and we do not, so that the user gets a clear message
    /// instead of a compiler error: #r "nuget:…", #i, magic commands (#!…). A #r to a missing file is reported with
    /// the path it resolved to. Kernel selectors (#!csharp) and #r "nuget: Plotly.NET.Interactive" (the package that
    /// draws charts in .NET Interactive; the runner has that built in) are blanked, keeping line numbers intact.
    /// </summary>
    internal static string CheckDirectives(NotebookCell cell, string folder, out string? error)
    {
        error = null;
        var lines = cell.Source.Split('\n');
        const string Instead = "build the library (dotnet build -c Release) and reference its dll with #r \"path/to/Library.dll\" (relative to the notebook)";
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            var where = $"cell {cell.Number}, line {i + 1}";
            if (line is "#!csharp" or "#!c#" or "#!C#") { lines[i] = ""; continue; }
            if (line.StartsWith("#!"))
            {
                error = $"{where}: magic command '{line}' is specific to .NET Interactive and not supported by the runner; use plain C# (display(x), HTML(\"…\"), Console.WriteLine) instead";
                return cell.Source;
            }
            if (line.StartsWith("#i ") || line == "#i")
            {
                error = $"{where}: '#i' (package source) is not supported: no packages are restored at run time; {Instead}";
                return cell.Source;
            }
            if (!line.StartsWith("#r")) continue;
            var m = ReferenceDirective.Match(line);
            if (!m.Success) continue; // let the compiler report a malformed #r
            var path = m.Groups["path"].Value;
            if (PlotlyInteractive.IsMatch(path))
            {
                // .NET Interactive needs this package to draw Plotly.NET charts; the runner draws them itself.
                lines[i] = "";
                continue;
            }
            if (path.StartsWith("nuget:", StringComparison.OrdinalIgnoreCase))
            {
                error = $"{where}: '#r \"{path}\"' needs NuGet restore, which the runner does not do (nothing is downloaded at run time); {Instead}";
                return cell.Source;
            }
            var resolved = Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(folder, path));
            if (!File.Exists(resolved))
            {
                error = $"{where}: '#r \"{path}\"': file not found at {resolved} (relative paths resolve against the notebook's folder); build it first with dotnet build -c Release";
                return cell.Source;
            }
        }
        return string.Join('\n', lines);
    }

    static string Shorten(string line) => line.Length <= 60 ? line : line[..57] + "...";
}
