using System.CommandLine;
using MMEureka.Cli.Notebooks;

namespace MMEureka.Cli.Commands;

/// <summary>
/// <c>mmeureka notebook run NOTEBOOK... [--out DIR] [--param key=value]... [--cell-timeout SEC] [--in-place]</c>:
/// executes Polyglot C# notebooks headless and writes the executed notebook plus an HTML report. No cell has a time
/// limit unless --cell-timeout sets one; a long cell's progress shows on the terminal as it runs.
/// Exit codes: 0 all ran, 1 bad input (file, arguments), 2 a cell failed or timed out.
/// </summary>
internal static class NotebookCommand
{
    public static Command Create()
    {
        var notebooks = new Argument<string[]>("notebooks") { Arity = ArgumentArity.OneOrMore, Description = "The .ipynb files to run, in order." };
        var outDir = new Option<string>("--out")
        {
            Description = "Folder for the executed notebooks and NAME.html reports.",
            DefaultValueFactory = _ => Path.Combine("runs", "notebooks"),
        };
        var parameters = new Option<string[]>("--param")
        {
            Description = "key=value, repeatable; the notebook sees it as the environment variable MMEUREKA_KEY (e.g. --param preset=tiny).",
            DefaultValueFactory = _ => [],
        };
        var timeout = new Option<double?>("--cell-timeout")
        {
            Description = "Seconds a single cell may run before the run stops with a timeout error (default: no limit).",
        };
        var inPlace = new Option<bool>("--in-place")
        {
            Description = "Overwrite the input notebook (atomically) with the executed one, each chart with a static picture (needs Chromium).",
        };

        var run = new Command("run", "Execute the C# cells of Polyglot notebooks and write the executed notebooks and HTML reports.");
        run.Arguments.Add(notebooks);
        run.Options.Add(outDir);
        run.Options.Add(parameters);
        run.Options.Add(timeout);
        run.Options.Add(inPlace);
        run.SetAction(parse => Run(
            parse.GetValue(notebooks) ?? [], parse.GetValue(outDir)!, parse.GetValue(parameters) ?? [],
            parse.GetValue(timeout), parse.GetValue(inPlace), TerminalProgress.ForConsole(), Console.Error));

        var command = new Command("notebook", "Notebook tools.");
        command.Subcommands.Add(run);
        return command;
    }

    /// <summary>The verb's work, callable from tests with their own writers.</summary>
    internal static int Run(string[] notebooks, string outDir, string[] parameters, double? timeoutSeconds, bool inPlace,
                            TerminalProgress progress, TextWriter errors)
    {
        var values = new Dictionary<string, string>();
        foreach (var p in parameters)
        {
            int eq = p.IndexOf('=');
            if (eq <= 0)
            {
                errors.WriteLine($"error: --param '{p}' must be key=value (e.g. --param preset=tiny)");
                return 1;
            }
            var key = p[..eq];
            try { NotebookRunner.ParameterVariable(key); }
            catch (ArgumentException e) { errors.WriteLine($"error: --param '{p}': {e.Message}"); return 1; }
            values[key] = p[(eq + 1)..];
        }
        if (timeoutSeconds is double t && (!(t > 0) || double.IsInfinity(t) || t > int.MaxValue / 1000.0))
        {
            errors.WriteLine($"error: --cell-timeout must be a positive number of seconds (got {t})");
            return 1;
        }
        var here = notebooks.Length > 0 ? Path.GetDirectoryName(Path.GetFullPath(notebooks[0]))! : Environment.CurrentDirectory;
        if (Extras.Missing(here, inPlace) is string absent) progress.Line(absent);
        var options = new RunOptions
        {
            OutDir = outDir, InPlace = inPlace, Parameters = values,
            CellTimeout = timeoutSeconds is double seconds ? TimeSpan.FromSeconds(seconds) : null,
            // Committed notebooks carry pictures of their charts so that GitHub, which runs no script, shows them.
            ChartPictures = inPlace ? ChartPictures.Find(here, out _) : null,
        };

        var duplicate = notebooks.GroupBy(n => NotebookRunner.OutputPaths(n, options).Report).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            errors.WriteLine($"error: {string.Join(" and ", duplicate)} would write the same report {duplicate.Key}; run them with different --out folders");
            return 1;
        }
        foreach (var notebook in notebooks)
        {
            NotebookResult result;
            try { result = NotebookRunner.Run(notebook, options, progress); }
            catch (NotebookFormatException e) { errors.WriteLine($"error: {e.Message}"); return 1; }
            progress.Line($"  wrote {result.WrittenNotebook} and {result.Report}");
            if (!result.Succeeded)
            {
                // The run ends here, also after a timeout: a cell's thread cannot be stopped inside the process, so
                // returning lets the process exit end it (the runner stopped echoing it already).
                var cell = result.FailedCell!;
                errors.WriteLine($"error: {notebook}: cell {cell.Number} (`{cell.FirstLine}`) failed: {result.Failure}");
                return 2;
            }
        }
        return 0;
    }
}
