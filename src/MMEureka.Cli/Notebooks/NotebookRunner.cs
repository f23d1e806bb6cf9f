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

    static readonly Lazy<MetadataReference[]> FrameworkReferences = new(() =>
    {
        // Every managed assembly of the shared framework, as a notebook host makes the whole BCL available.
        var dir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        return Directory.GetFiles(dir, "*.dll")
            .Where(IsManagedAssembly)
            .Select(f => (MetadataReference)MetadataReference.CreateFromFile(f))
            .ToArray();
    });

    static bool IsManagedAssembly(string path)
    {
        try { System.Reflection.AssemblyName.GetAssemblyName(path); return true; }
        catch (BadImageFormatException) { return false; }
    }

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

        var scriptOptions = ScriptOptions.Default
            .WithLanguageVersion(LanguageVersion.Latest)
            .WithReferences(FrameworkReferences.Value)
            .WithImports(DefaultImports)
            .WithMetadataResolver(ScriptMetadataResolver.Default.WithBaseDirectory(folder))
            .WithSourceResolver(ScriptSourceResolver.Default.WithBaseDirectory(folder))
            .WithOptimizationLevel(OptimizationLevel.Release)
            .WithAllowUnsafe(true);
        var globals = new ScriptGlobals();
        ScriptState<object>? state = null;
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
            var code = CheckDirectives(cell, folder, out var directiveError);
            if (directiveError is not null) return Fail(cell, progress, label, "DirectiveError", directiveError, null);
            var outputs = new CellOutputs();

            // Compile first, outside the timeout: the first cell pays for warming up the compiler, not the user's code.
            var clock = Stopwatch.StartNew();
            var script = state is null
                ? CSharpScript.Create(code, scriptOptions, typeof(ScriptGlobals))
                : state.Script.ContinueWith(code, scriptOptions);
            List<string> lines;
            try
            {
                lines = script.Compile().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => Diagnostic(d, cell)).ToList();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Roslyn itself can crash on some code (e.g. a deconstructing switch at the top level of a script):
                // report it as this cell's compilation error rather than an unhandled exception of the runner.
                lines = [$"cell {cell.Number}: the C# compiler failed on this cell ({e.GetType().Name}: {e.Message}); rewrite the construct"];
            }
            if (lines.Count > 0)
            {
                outputs.Error("CompilationError", lines[0], lines);
                cell.Outputs = outputs.Snapshot();
                return Fail(cell, progress, label, null, $"CompilationError: {lines[0]}", clock.Elapsed);
            }

            globals.Outputs = outputs;
            // The terminal hears from a long cell as it runs (its lines, or a heartbeat), never from a quick one.
            var watch = new CellWatch(progress, label);
            Console.SetOut(watch.Tee(outputs.Writer("stdout")));
            Console.SetError(watch.Tee(outputs.Writer("stderr")));
            Exception? error = null;
            var previous = state;
            var worker = new Thread(() =>
            {
                try
                {
                    state = previous is null
                        ? script.RunAsync(globals).GetAwaiter().GetResult()
                        : script.RunFromAsync(previous).GetAwaiter().GetResult();
                }
                catch (Exception e) { error = e; }
            }, maxStackSize: 64 << 20) { IsBackground = true, Name = $"notebook cell {cell.Number}" };
            worker.Start();
            // A running script thread cannot be aborted in .NET: on timeout stop waiting, keep what it wrote, and let
            // the process exit end the (background) thread.
            bool finished = progress.Wait(label, () => watch.Join(worker, options.CellTimeout));
            watch.Close();
            // Console stays redirected into this (now closed) cell until the next cell or the end of the run, so
            // late writes of a timed-out cell are dropped rather than mixed into the terminal progress.

            if (!finished)
            {
                var message = $"cell {cell.Number} did not finish within {options.CellTimeout!.Value.TotalSeconds:0.###} s (--cell-timeout)";
                outputs.Error("CellTimeout", message, [message]);
                outputs.Close();
                cell.Outputs = outputs.Snapshot();
                return Fail(cell, progress, label, null, message, clock.Elapsed);
            }
            if (error is not null)
            {
                var (ename, evalue, traceback) = Describe(error);
                outputs.Error(ename, evalue, traceback);
                outputs.Close();
                cell.Outputs = outputs.Snapshot();
                return Fail(cell, progress, label, null, $"{ename}: {evalue}", clock.Elapsed);
            }
            if (HasTrailingValue(state!.Script))
            {
                // The value's own formatter or ToString runs here, outside the cell: its failure is the cell's failure.
                try { outputs.Data(Formatting.Format(state.ReturnValue), executionCount); }
                catch (Exception e)
                {
                    var (ename, evalue, traceback) = Describe(e);
                    outputs.Error(ename, $"formatting the cell's result failed: {evalue}", traceback);
                    cell.Outputs = outputs.Snapshot();
                    return Fail(cell, progress, label, null, $"{ename}: {evalue}", clock.Elapsed);
                }
            }
            outputs.Close();
            cell.Outputs = outputs.Snapshot();
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

    static (string Ename, string Evalue, IEnumerable<string> Traceback) Describe(Exception failure)
    {
        var error = failure;
        while (error is AggregateException { InnerExceptions.Count: 1 } agg) error = agg.InnerExceptions[0];
        while (error is System.Reflection.TargetInvocationException { InnerException: not null } tie) error = tie.InnerException!;
        // Keep the user's frames and the library's; drop the scripting engine's plumbing below them.
        var trace = error.ToString().Split('\n').Select(l => l.TrimEnd('\r'))
            .Where(l => !l.Contains(" Microsoft.CodeAnalysis.Scripting.") && !l.Contains(" System.Runtime.CompilerServices.")
                        && !l.Contains(" System.Threading.Tasks.") && !l.StartsWith("--- End of stack trace"));
        return (error.GetType().FullName ?? error.GetType().Name, error.Message, trace);
    }

    /// <summary>
    /// True when the submission ends in an expression without a semicolon whose type is not void: the value Roslyn
    /// returns as the submission's result (null is then a real value, not "no result").
    /// </summary>
    static bool HasTrailingValue(Script script)
    {
        var compilation = script.GetCompilation();
        var tree = compilation.SyntaxTrees.Last();
        if (tree.GetRoot() is not Microsoft.CodeAnalysis.CSharp.Syntax.CompilationUnitSyntax root
            || root.Members.LastOrDefault() is not Microsoft.CodeAnalysis.CSharp.Syntax.GlobalStatementSyntax
            {
                Statement: Microsoft.CodeAnalysis.CSharp.Syntax.ExpressionStatementSyntax { SemicolonToken.IsMissing: true } statement,
            })
            return false;
        var type = compilation.GetSemanticModel(tree).GetTypeInfo(statement.Expression).Type;
        return type is not null && type.SpecialType != SpecialType.System_Void;
    }

    static string Diagnostic(Diagnostic d, NotebookCell cell)
    {
        var pos = d.Location.GetLineSpan().StartLinePosition;
        return d.Location.IsInSource
            ? $"cell {cell.Number}, line {pos.Line + 1}, col {pos.Character + 1}: error {d.Id}: {d.GetMessage()}"
            : $"cell {cell.Number}: error {d.Id}: {d.GetMessage()}";
    }

    static string Shorten(string line) => line.Length <= 60 ? line : line[..57] + "...";
}
