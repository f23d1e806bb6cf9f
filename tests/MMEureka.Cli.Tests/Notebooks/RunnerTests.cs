using System.Text.Json.Nodes;
using MMEureka.Cli.Notebooks;
using static MMEureka.Cli.Tests.Notebooks.TestNotebooks;

namespace MMEureka.Cli.Tests.Notebooks;

/// <summary>One notebook that exercises the shared subset, run once (a Roslyn session costs seconds) and inspected by many tests.</summary>
public sealed class HappyRun
{
    public string Folder { get; } = NewFolder();
    public string Input { get; }
    public byte[] InputBytes { get; }
    public Outcome Outcome { get; }
    public string DirectoryBefore { get; } = Environment.CurrentDirectory;
    public string? PresetBefore { get; } = Environment.GetEnvironmentVariable("MMEUREKA_PRESET");

    public HappyRun()
    {
        Input = Write(Folder, "happy.ipynb",
            ("code", $"#r \"{LibraryDll}\"\n#r \"{TorchDll}\"\nusing MMEureka.Display;\nvar preset = Environment.GetEnvironmentVariable(\"MMEUREKA_PRESET\") ?? \"quick\";\nConsole.WriteLine($\"preset={{preset}}\");\nConsole.Error.WriteLine(\"careful\");"),
            ("markdown", "# Title\n\nSome *markdown*."),
            ("code", "display(HTML(\"<b>bold</b>\"));\ndisplay(42, \"text/plain\");\nConsole.WriteLine(\"<script>alert('x')</script>\");"),
            ("code", "1 + 2"),
            ("code", "Charts.Line(\"A <chart>\", new[] { 1.0, 2.0 }, (\"y\", new[] { 1.0, 2.0 }))"),
            ("code", "var c = new float[1];\nMMEureka.Torch.Gemm.Reference(false, false, 1, 1, 1, 1f, [2f], 0, 1, [3f], 0, 1, 0f, c, 0, 1);\nc[0]"),
            ("code", "System.IO.Directory.GetCurrentDirectory()"),
            ("code", "string nothing = null;\nnothing"),
            ("code", "   \n"),
            ("code", "var v = 1; // no trailing value"));
        InputBytes = File.ReadAllBytes(Input);
        Outcome = Run(Input, 600, "preset=tiny");
    }
}

public class RunnerTests(HappyRun run) : IClassFixture<HappyRun>
{
    JsonObject Nb => run.Outcome.Notebook("happy");

    [Fact]
    public void RunSucceedsAndReportsEachCell()
    {
        Assert.True(run.Outcome.ExitCode == 0, run.Outcome.Errors + run.Outcome.Progress);
        Assert.Contains("ok   cell 4/10: 1 + 2", run.Outcome.Progress);
        Assert.Contains(" s", run.Outcome.Progress);
    }

    [Fact]
    public void WrittenNotebookIsStructurallyValidNbformat45()
    {
        Assert.Empty(NbformatChecks.Problems(Nb));
        Assert.Equal(Cells(Nb).Count, Cells(Nb).Select(c => c!["id"]!.GetValue<string>()).Distinct().Count());
    }

    [Fact]
    public void MetadataIsKept()
    {
        Assert.Equal(".net-csharp", Nb["metadata"]!["kernelspec"]!["name"]!.GetValue<string>());
        Assert.Equal("csharp", Nb["metadata"]!["polyglot_notebook"]!["kernelInfo"]!["defaultKernelName"]!.GetValue<string>());
        Assert.Equal("csharp", Cells(Nb)[0]!["metadata"]!["polyglot_notebook"]!["kernelName"]!.GetValue<string>());
    }

    [Fact]
    public void StdoutAndStderrBecomeStreamsAndParametersReachTheNotebook()
    {
        var outs = Outputs(Nb, 1);
        Assert.Equal("stream", outs[0]!["output_type"]!.GetValue<string>());
        Assert.Equal("stdout", outs[0]!["name"]!.GetValue<string>());
        Assert.Equal("preset=tiny\n", Text(outs[0]!["text"]));
        Assert.Equal("stderr", outs[1]!["name"]!.GetValue<string>());
        Assert.Equal("careful\n", Text(outs[1]!["text"]));
    }

    [Fact]
    public void DisplayAndHtmlGiveDisplayDataInOrder()
    {
        var outs = Outputs(Nb, 3);
        Assert.Equal(["display_data", "display_data", "stream"], outs.Select(o => o!["output_type"]!.GetValue<string>()));
        Assert.Equal("<b>bold</b>", Text(outs[0]!["data"]!["text/html"]));
        var plain = (JsonObject)outs[1]!["data"]!;
        Assert.Equal(["text/plain"], plain.Select(kv => kv.Key));
        Assert.Equal("42", Text(plain["text/plain"]));
    }

    [Fact]
    public void TrailingExpressionsBecomeExecuteResults()
    {
        var result = Outputs(Nb, 4).Single()!;
        Assert.Equal("execute_result", result["output_type"]!.GetValue<string>());
        Assert.Equal("3", Text(result["data"]!["text/plain"]));
        Assert.Equal(result["execution_count"]!.GetValue<int>(), Cells(Nb)[3]!["execution_count"]!.GetValue<int>());
        Assert.Equal("null", Text(Outputs(Nb, 8).Single()!["data"]!["text/plain"]));
        Assert.Empty(Outputs(Nb, 10));
    }

    [Fact]
    public void PlotlyChartIsAMimeBundleWithPlotlyJsonAsAnObject()
    {
        var data = (JsonObject)Outputs(Nb, 5).Single()!["data"]!;
        Assert.Equal(["text/html", "application/vnd.plotly.v1+json", "text/plain"], data.Select(kv => kv.Key));
        var html = Text(data["text/html"]);
        Assert.Contains("Plotly.newPlot", html);
        Assert.Contains("<div id=\"mmeureka-plot-", html);
        Assert.Contains("\"A \\u003cchart>\"", html); // "<" written as \u003c so that no tag can open inside the script
        Assert.Equal("Chart 'A <chart>': 1 trace(s) [scatter 'y']", Text(data["text/plain"]));
        var figure = (JsonObject)data["application/vnd.plotly.v1+json"]!;
        Assert.Equal("A <chart>", figure["layout"]!["title"]!["text"]!.GetValue<string>());
        Assert.Equal([1.0, 2.0], ((JsonArray)figure["data"]![0]!["y"]!).Select(v => v!.GetValue<double>()));
    }

    [Fact]
    public void LibraryDependenciesBesideTheDllLoad() =>
        Assert.Equal("6", Text(Outputs(Nb, 6).Single()!["data"]!["text/plain"]));

    [Fact]
    public void WorkingDirectoryIsTheNotebookFolderDuringTheRunAndRestoredAfter()
    {
        Assert.Equal(Path.GetFullPath(run.Folder), Text(Outputs(Nb, 7).Single()!["data"]!["text/plain"]));
        Assert.Equal(run.DirectoryBefore, Environment.CurrentDirectory);
        Assert.Equal(run.PresetBefore, Environment.GetEnvironmentVariable("MMEUREKA_PRESET"));
    }

    [Fact]
    public void ExecutionCountsAreSequentialAndBlankCellsSkipped()
    {
        var counts = Cells(Nb).Where(c => c!["cell_type"]!.GetValue<string>() == "code")
            .Select(c => c!["execution_count"]?.GetValue<int>()).ToArray();
        Assert.Equal(new int?[] { 1, 2, 3, 4, 5, 6, 7, null, 8 }, counts);
    }

    [Fact]
    public void InputIsNotModified() => Assert.Equal(run.InputBytes, File.ReadAllBytes(run.Input));

    [Fact]
    public void ReportRendersMarkdownEscapesTextAndLoadsPlotlyOnce()
    {
        var html = run.Outcome.Report("happy");
        Assert.Contains("<h1 id=\"title\">Title</h1>", html);
        Assert.Contains("<em>markdown</em>", html);
        Assert.Contains("<b>bold</b>", html);                                  // HTML output kept as HTML
        Assert.DoesNotContain("<script>alert('x')</script>", html);           // stdout text escaped
        Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;", html);
        Assert.Contains("display(HTML(&quot;&lt;b&gt;bold&lt;/b&gt;&quot;));", html); // code escaped
        // No offline copy above a temp folder: plotly comes from the CDN, once.
        Assert.Equal(1, CountOf(html, "src=\"https://cdn.plot.ly/plotly-2.35.2.min.js\""));
    }

    [Fact]
    public void ReportInlinesAnOfflinePlotlySafely()
    {
        var fake = Path.Combine(run.Folder, "fake-plotly.js");
        File.WriteAllText(fake, "window.Plotly = { fake: '</script>' };");
        var doc = NotebookDocument.Load(Path.Combine(run.Outcome.OutDir, "happy.ipynb"));
        var html = HtmlReport.Render(doc, fake);
        Assert.Contains("window.Plotly = { fake: '<\\/script>' };", html);
        Assert.DoesNotContain("cdn.plot.ly/plotly-2.35.2.min.js\"", html);
    }

    static int CountOf(string s, string part) => (s.Length - s.Replace(part, "").Length) / part.Length;
}

public class DemoNotebookTests
{
    [Fact]
    public void CommittedDisplayDemoRunsAndShowsEveryViewAsHtml()
    {
        var demo = Path.Combine(RepoRoot, "tests", "fixtures", "notebooks", "display-demo.ipynb");
        var before = File.ReadAllBytes(demo);
        var outDir = Path.Combine(NewFolder(), "out");
        var errors = new StringWriter();
        int code = MMEureka.Cli.Commands.NotebookCommand.Run([demo], outDir, ["preset=tiny"], 600, false, new TerminalProgress(new StringWriter(), false), errors);
        Assert.True(code == 0, errors.ToString());
        var nb = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "display-demo.ipynb")))!;
        Assert.Empty(NbformatChecks.Problems(nb));
        var plain = Cells(nb).SelectMany(c => c!["outputs"] as JsonArray ?? [])
            .Where(o => o!["data"]?["text/html"] is not null)
            .Select(o => Text(o!["data"]!["text/plain"])).ToList();
        Assert.Equal(7, plain.Count);
        Assert.Contains(plain, p => p.StartsWith("Chart 'Training curves': 2 trace(s)"));
        Assert.Contains(plain, p => p.StartsWith("Chart 'A 4x5 matrix': 1 trace(s) [heatmap]"));
        Assert.Contains(plain, p => p.StartsWith("Chart 'Advantages': 1 trace(s) [histogram 'advantage']"));
        Assert.Contains(plain, p => p.StartsWith("ImageView: 6 image(s)"));
        Assert.Contains(plain, p => p.StartsWith("Method\tAccuracy\tTokens"));
        Assert.Equal(before, File.ReadAllBytes(demo));
    }
}
