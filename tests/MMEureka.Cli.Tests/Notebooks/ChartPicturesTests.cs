using System.Buffers.Binary;
using System.Text.Json.Nodes;
using MMEureka.Cli.Notebooks;
using MMEureka.Display;
using static MMEureka.Cli.Tests.Notebooks.TestNotebooks;

namespace MMEureka.Cli.Tests.Notebooks;

/// <summary>A fact reported as skipped (with the reason) without Chromium or the offline plotly.js.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        ChartPictures.Find(RepoRoot, out var missing);
        if (missing is not null) Skip = $"{missing} not found: environment/setup.sh installs them";
    }
}

public class ChartPicturesTests
{
    static (int Width, int Height) PngSize(byte[] png)
    {
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    [ChromiumFact]
    public void ChartIsDrawnAtItsLayoutSize()
    {
        var pictures = ChartPictures.Find(RepoRoot, out _)!;
        var chart = Charts.Bar("Accuracy", ["test", "OOD"], ("greedy", new[] { 0.4, 0.2 }));
        var png = pictures.Render(ChartView.FigureJson(chart), out var why);
        Assert.True(png is not null, why);
        Assert.Equal((Charts.Width, Charts.Height), PngSize(png!));
        // A blank 720x420 page compresses to about 2 KB; axes, bars, legend and title take several times that.
        Assert.True(png!.Length > 6000, $"{png.Length} bytes: the chart was probably not drawn");
    }

    [ChromiumFact]
    public void PictureJoinsTheBundleAndTheHtmlFallback()
    {
        var folder = NewFolder();
        var path = Write(folder, "p.ipynb", ("code", "chart"), ("code", "text"));
        var doc = NotebookDocument.Load(path);
        var outputs = new CellOutputs();
        outputs.Data(ChartView.MimeBundle(Charts.Line("L", new[] { 1.0, 2 }, ("y", new[] { 2.0, 1 }))));
        doc.Cells[0].Outputs = outputs.Snapshot();
        var plain = new CellOutputs();
        plain.Data(new Dictionary<string, string> { ["text/plain"] = "42" });
        doc.Cells[1].Outputs = plain.Snapshot();

        int added = ChartPictures.Find(RepoRoot, out _)!.AddTo(doc, new TerminalProgress(new StringWriter(), false));
        Assert.Equal(1, added);
        var data = (JsonObject)doc.Cells[0].Outputs.Single()["data"]!;
        var png = Convert.FromBase64String(data["image/png"]!.GetValue<string>());
        Assert.Equal((Charts.Width, Charts.Height), PngSize(png));
        var html = string.Concat(((JsonArray)data["text/html"]!).Select(l => l!.GetValue<string>()));
        Assert.Contains($"<img class=\"mmeureka-static\" alt=\"chart\" src=\"data:image/png;base64,{data["image/png"]!.GetValue<string>()}\">", html);
        Assert.NotNull(data[ChartView.PlotlyMime]);
        Assert.Null(doc.Cells[1].Outputs.Single()["data"]!["image/png"]);
    }
}
