using MMEureka.Cli.Commands;
using MMEureka.Cli.Notebooks;
using static MMEureka.Cli.Tests.Notebooks.TestNotebooks;

namespace MMEureka.Cli.Tests.Notebooks;

public class InputTests
{
    const string Meta = "\"metadata\": {}";

    [Theory]
    [InlineData("{ \"cells\": [", "not valid JSON (line 1")]
    [InlineData("[]", "top level must be a JSON object")]
    [InlineData("{\"nbformat\": 4, " + Meta + "}", "missing \"cells\" array")]
    [InlineData("{\"nbformat\": 3, \"nbformat_minor\": 0, " + Meta + ", \"cells\": []}", "nbformat 3 is not supported")]
    [InlineData("{" + Meta + ", \"cells\": []}", "\"nbformat\"")]
    [InlineData("{\"nbformat\": 4, \"nbformat_minor\": 5, " + Meta + ", \"cells\": [{\"cell_type\": \"markdown\", \"source\": \"x\"}, {\"source\": \"y\"}]}", "cell 2: \"cell_type\"")]
    [InlineData("{\"nbformat\": 4, \"nbformat_minor\": 5, " + Meta + ", \"cells\": [{\"cell_type\": \"code\", \"source\": 5}]}", "cell 1: \"source\"")]
    [InlineData("{\"nbformat\": 4, \"nbformat_minor\": 5, " + Meta + ", \"cells\": [{\"cell_type\": \"code\", \"source\": [\"a\", 1]}]}", "cell 1: \"source\" line 2")]
    public void MalformedNotebooksGiveAClearErrorNamingTheFileAndNothingIsWritten(string content, string expected)
    {
        var folder = NewFolder();
        var path = Path.Combine(folder, "bad.ipynb");
        File.WriteAllText(path, content);
        var outcome = Run(path);
        Assert.Equal(1, outcome.ExitCode);
        Assert.Contains(path, outcome.Errors);
        Assert.Contains(expected, outcome.Errors);
        Assert.False(Directory.Exists(outcome.OutDir));
        Assert.Equal(content, File.ReadAllText(path));
    }

    [Fact]
    public void MissingNotebookFileIsABadInput()
    {
        var outcome = Run(Path.Combine(NewFolder(), "nope.ipynb"));
        Assert.Equal(1, outcome.ExitCode);
        Assert.Contains("nope.ipynb: file not found", outcome.Errors);
    }

    [Theory]
    [InlineData("preset", "must be key=value")]
    [InlineData("=tiny", "must be key=value")]
    [InlineData("9lives=1", "must start with a letter")]
    [InlineData("my-key=1", "must start with a letter")]
    public void BadParametersAreRejectedBeforeRunning(string parameter, string expected)
    {
        var folder = NewFolder();
        var path = Write(folder, "p.ipynb", ("code", "1"));
        var outcome = Run(path, 600, parameter);
        Assert.Equal(1, outcome.ExitCode);
        Assert.Contains(expected, outcome.Errors);
        Assert.False(Directory.Exists(outcome.OutDir));
    }

    [Fact]
    public void ParameterKeysMapToUpperCaseEnvironmentVariables() =>
        Assert.Equal("MMEUREKA_PRESET", NotebookRunner.ParameterVariable("preset"));

    [Fact]
    public void NonCSharpCellsAreRefusedByName()
    {
        var folder = NewFolder();
        var path = Write(folder, "pwsh.ipynb", ("code", "Get-Date"));
        var text = File.ReadAllText(path).Replace("\"kernelName\":\"csharp\"", "\"kernelName\":\"pwsh\"");
        File.WriteAllText(path, text);
        var outcome = Run(path);
        Assert.Equal(2, outcome.ExitCode);
        Assert.Contains("'pwsh' cell", outcome.Errors);
    }

    [Fact]
    public void VerbIsRegisteredWithItsOptions()
    {
        var parse = Program.BuildRoot().Parse(["notebook", "run", "a.ipynb", "b.ipynb", "--out", "o", "--param", "preset=tiny", "--param", "seed=3", "--cell-timeout", "5", "--in-place"]);
        Assert.Empty(parse.Errors);
        Assert.NotEmpty(Program.BuildRoot().Parse(["notebook", "run"]).Errors); // a notebook is required
    }

    [Fact]
    public void TwoNotebooksWithTheSameNameAreRefused()
    {
        var a = Write(NewFolder(), "same.ipynb", ("code", "1"));
        var b = Write(NewFolder(), "same.ipynb", ("code", "2"));
        var errors = new StringWriter();
        int code = NotebookCommand.Run([a, b], Path.Combine(NewFolder(), "out"), [], 600, false, new TerminalProgress(new StringWriter(), false), errors);
        Assert.Equal(1, code);
        Assert.Contains("same report", errors.ToString());
    }
}

public class InPlaceTests
{
    [Fact]
    public void InPlaceOverwritesTheInputWithTheExecutedNotebookAndReportsToOut()
    {
        var folder = NewFolder();
        var path = Write(folder, "inplace.ipynb", ("code", "6 * 7"));
        var outDir = Path.Combine(folder, "out");
        int code = NotebookCommand.Run([path], outDir, [], 600, inPlace: true, new TerminalProgress(new StringWriter(), false), new StringWriter());
        Assert.Equal(0, code);
        var nb = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        Assert.Empty(NbformatChecks.Problems(nb));
        Assert.Equal("42", Text(Outputs(nb, 1).Single()!["data"]!["text/plain"]));
        Assert.False(File.Exists(Path.Combine(outDir, "inplace.ipynb")));
        Assert.True(File.Exists(Path.Combine(outDir, "inplace.html")));
        Assert.Empty(Directory.GetFiles(folder, "*.tmp"));
    }
}
