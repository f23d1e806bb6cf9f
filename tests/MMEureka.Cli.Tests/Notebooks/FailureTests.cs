using System.Diagnostics;
using System.Text.Json.Nodes;
using static MMEureka.Cli.Tests.Notebooks.TestNotebooks;

namespace MMEureka.Cli.Tests.Notebooks;

public class FailureTests
{
    [Fact]
    public void ExceptionStopsTheRunWithExitCode2AndAnErrorOutput()
    {
        var folder = NewFolder();
        var path = Write(folder, "boom.ipynb",
            ("code", "Console.WriteLine(\"before\");"),
            ("code", "int Divide(int a, int b) => a / b;\nthrow new InvalidOperationException(\"boom <script>\");"),
            ("code", "Console.WriteLine(\"after\");"));
        var outcome = Run(path);
        Assert.Equal(2, outcome.ExitCode);
        Assert.Contains("boom.ipynb", outcome.Errors);
        Assert.Contains("cell 2", outcome.Errors);
        Assert.Contains("int Divide(int a, int b) => a / b;", outcome.Errors);
        var nb = outcome.Notebook("boom");
        Assert.Empty(NbformatChecks.Problems(nb));
        var error = Outputs(nb, 2).Single()!;
        Assert.Equal("error", error["output_type"]!.GetValue<string>());
        Assert.Equal("System.InvalidOperationException", error["ename"]!.GetValue<string>());
        Assert.Equal("boom <script>", error["evalue"]!.GetValue<string>());
        Assert.StartsWith("System.InvalidOperationException: boom <script>", error["traceback"]![0]!.GetValue<string>());
        Assert.Empty(Outputs(nb, 3));
        Assert.Null(Cells(nb)[2]!["execution_count"]);
        var report = outcome.Report("boom");
        Assert.Contains("boom &lt;script&gt;", report);
        Assert.DoesNotContain("boom <script>", report);
    }

    [Fact]
    public void CompilationErrorsNameTheCellLineAndDiagnostic()
    {
        var folder = NewFolder();
        var path = Write(folder, "typo.ipynb", ("code", "var ok = 1;"), ("code", "var a = 1;\nint x = \"text\";"));
        var outcome = Run(path);
        Assert.Equal(2, outcome.ExitCode);
        Assert.Contains("cell 2", outcome.Errors);
        var error = Outputs(outcome.Notebook("typo"), 2).Single()!;
        Assert.Equal("CompilationError", error["ename"]!.GetValue<string>());
        var first = error["traceback"]![0]!.GetValue<string>();
        Assert.Contains("cell 2, line 2", first);
        Assert.Contains("CS0029", first);
    }

    [Fact]
    public void ACompilerCrashIsReportedAsTheCellsError()
    {
        // Roslyn 5.12 throws NullReferenceException binding a deconstructing switch at a script's top level.
        var folder = NewFolder();
        var path = Write(folder, "crash.ipynb", ("code", "var preset = \"tiny\";"),
            ("code", "var (a, b) = preset switch { \"tiny\" => (1, 2), _ => (3, 4) };"), ("code", "Console.WriteLine(1);"));
        var outcome = Run(path);
        Assert.Equal(2, outcome.ExitCode);
        Assert.Contains("cell 2", outcome.Errors);
        var error = Outputs(outcome.Notebook("crash"), 2).Single()!;
        Assert.Equal("CompilationError", error["ename"]!.GetValue<string>());
        Assert.Contains("compiler failed", error["traceback"]![0]!.GetValue<string>());
    }

    [Theory]
    [InlineData("#r \"does/not/exist.dll\"", "file not found at")]
    [InlineData("#r \"nuget: Plotly.NET, 4.2.0\"", "NuGet restore")]
    [InlineData("#r \"nuget: Plotly.NET.Interactive.Extra, 1.0.0\"", "NuGet restore")]
    [InlineData("#i \"nuget: https://example.org/feed\"", "'#i'")]
    [InlineData("#!time\nvar x = 1;", "magic command '#!time'")]
    public void UnsupportedDirectivesGiveAClearErrorWithoutCompiling(string source, string expected)
    {
        var folder = NewFolder();
        var path = Write(folder, "directive.ipynb", ("code", source), ("code", "Console.WriteLine(1);"));
        var outcome = Run(path);
        Assert.Equal(2, outcome.ExitCode);
        Assert.Contains(expected, outcome.Errors);
        Assert.Contains("cell 1, line 1", outcome.Errors);
        var error = Outputs(outcome.Notebook("directive"), 1).Single()!;
        Assert.Equal("DirectiveError", error["ename"]!.GetValue<string>());
        if (source.StartsWith("#r \"does"))
            Assert.Contains(Path.Combine(folder, "does", "not", "exist.dll"), outcome.Errors); // resolved against the notebook's folder
        if (!source.StartsWith("#!")) Assert.Contains("dotnet build -c Release", outcome.Errors);
    }

    [Theory]
    [InlineData("#r \"nuget: Plotly.NET.Interactive, 6.0.0\"")]
    [InlineData("#r \"nuget:Plotly.NET.Interactive\"")]
    public void PlotlyInteractivePackageLineIsAcceptedBecauseTheRunnerDrawsChartsItself(string directive)
    {
        var folder = NewFolder();
        var path = Write(folder, "plotly.ipynb", ("code", directive + "\n40 + 2"));
        var outcome = Run(path);
        Assert.True(outcome.ExitCode == 0, outcome.Errors);
        Assert.Equal("42", Text(Outputs(outcome.Notebook("plotly"), 1).Single()!["data"]!["text/plain"]));
    }

    [Fact]
    public void KernelSelectorLineIsAccepted()
    {
        var folder = NewFolder();
        var path = Write(folder, "selector.ipynb", ("code", "#!csharp\n40 + 2"));
        var outcome = Run(path);
        Assert.True(outcome.ExitCode == 0, outcome.Errors);
        Assert.Equal("42", Text(Outputs(outcome.Notebook("selector"), 1).Single()!["data"]!["text/plain"]));
    }

    [Fact]
    public void RunawayCellTimesOutWithExitCode2AndKeepsEarlierOutputs()
    {
        // Out of process: a script thread cannot be aborted, so only the process exit ends the loop.
        Assert.True(File.Exists(CliExecutable), $"build the CLI first: {CliExecutable}");
        var folder = NewFolder();
        var path = Write(folder, "spin.ipynb",
            ("code", "Console.WriteLine(\"started\");"), ("code", "Console.WriteLine(\"spinning\");\nwhile (true) { }"), ("code", "1"));
        var outDir = Path.Combine(folder, "out");
        var psi = new ProcessStartInfo(CliExecutable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "notebook", "run", path, "--out", outDir, "--cell-timeout", "2" }) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        // A hang guard only (the runner must not wait for the thread); nothing is asserted about speed.
        if (!process.WaitForExit(120_000)) { process.Kill(); Assert.Fail("the runner did not exit after the cell timeout"); }
        Assert.Equal(2, process.ExitCode);
        Assert.Contains("cell 2", stderr.Result);
        Assert.Contains("did not finish within 2 s", stderr.Result);
        var nb = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "spin.ipynb")))!;
        Assert.Empty(NbformatChecks.Problems(nb));
        Assert.Equal("started\n", Text(Outputs(nb, 1)[0]!["text"]));
        var outs = Outputs(nb, 2);
        Assert.Equal("spinning\n", Text(outs[0]!["text"]));
        Assert.Equal("CellTimeout", outs[1]!["ename"]!.GetValue<string>());
        Assert.Empty(Outputs(nb, 3));
        Assert.True(File.Exists(Path.Combine(outDir, "spin.html")));
        _ = stdout.Result;
    }
}
