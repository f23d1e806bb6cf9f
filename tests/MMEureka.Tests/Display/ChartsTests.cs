using System.Text.Json;
using System.Text.RegularExpressions;
using MMEureka.Display;
using Plotly.NET;

namespace MMEureka.Tests.Display;

public class ChartsTests
{
    static JsonElement Parse(GenericChart c) => JsonDocument.Parse(ChartView.FigureJson(c)).RootElement;
    static double[] Numbers(JsonElement a) => a.EnumerateArray().Select(e => e.GetDouble()).ToArray();
    static string? TitleOf(JsonElement layoutPart) => layoutPart.GetProperty("title").GetProperty("text").GetString();

    [Fact]
    public void LineHasOneLineTracePerSeriesWithItsValuesAndTheTitle()
    {
        var chart = Charts.Line("Loss", new[] { 1.0, 2, 3 }, ("train", new[] { 3.0, 2.0, 1.5 }), ("eval", new List<double> { 3.5, 2.5, 2.25 }));
        var fig = Parse(chart);
        var data = fig.GetProperty("data");
        Assert.Equal(2, data.GetArrayLength());
        Assert.All(data.EnumerateArray(), t => Assert.Equal("scatter", t.GetProperty("type").GetString()));
        Assert.All(data.EnumerateArray(), t => Assert.Equal("lines", t.GetProperty("mode").GetString()));
        Assert.Equal(["train", "eval"], data.EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal([1.0, 2, 3], Numbers(data[1].GetProperty("x")));
        Assert.Equal([3.5, 2.5, 2.25], Numbers(data[1].GetProperty("y")));
        Assert.Equal("Loss", TitleOf(fig.GetProperty("layout")));
        Assert.Equal(Charts.Width, fig.GetProperty("layout").GetProperty("width").GetInt32());
        Assert.Equal(Charts.Height, fig.GetProperty("layout").GetProperty("height").GetInt32());
    }

    [Fact]
    public void AxisTitlesAndLogScalesLandInTheLayoutOnlyWhenAsked()
    {
        var named = Parse(Charts.Line("L", new[] { 1.0, 10 }, [("a", new[] { 1.0, 0.1 })], xTitle: "step", yTitle: "nats", logY: true)).GetProperty("layout");
        Assert.Equal("step", TitleOf(named.GetProperty("xaxis")));
        Assert.Equal("nats", TitleOf(named.GetProperty("yaxis")));
        Assert.Equal("log", named.GetProperty("yaxis").GetProperty("type").GetString());
        Assert.False(named.GetProperty("xaxis").TryGetProperty("type", out _));

        // The single-series overload and the fluent WithAxes give the same layout.
        var single = Parse(Charts.Line("L", new[] { 1.0, 10 }, ("a", new[] { 1.0, 0.1 }), xTitle: "step", yTitle: "nats", logY: true)).GetProperty("layout");
        var fluent = Parse(Charts.Line("L", new[] { 1.0, 10 }, ("a", new[] { 1.0, 0.1 })).WithAxes("step", "nats", logY: true)).GetProperty("layout");
        Assert.Equal(named.GetRawText(), single.GetRawText());
        Assert.Equal(named.GetRawText(), fluent.GetRawText());

        var plain = Parse(Charts.Line("L", new[] { 1.0 }, ("a", new[] { 1.0 }))).GetProperty("layout");
        Assert.False(plain.TryGetProperty("xaxis", out _));
        Assert.False(plain.TryGetProperty("yaxis", out _));
    }

    [Fact]
    public void BarPutsEachSeriesOverTheCategories()
    {
        var data = Parse(Charts.Bar("acc", ["GRPO", "CPGD"], ("test", new[] { 0.4, 0.5 }), ("ood", new[] { 0.2, 0.3 }))).GetProperty("data");
        Assert.Equal(2, data.GetArrayLength());
        Assert.All(data.EnumerateArray(), t => Assert.Equal("bar", t.GetProperty("type").GetString()));
        Assert.Equal(["GRPO", "CPGD"], data[1].GetProperty("x").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([0.2, 0.3], Numbers(data[1].GetProperty("y")));
    }

    [Fact]
    public void HistogramsOverlayTranslucentlyAndPassTheBinCount()
    {
        var one = Parse(Charts.Histogram("len", ("gold", new[] { 1.0, 2, 2, 3 }), xTitle: "tokens", bins: 7));
        var t = one.GetProperty("data")[0];
        Assert.Equal("histogram", t.GetProperty("type").GetString());
        Assert.Equal([1.0, 2, 2, 3], Numbers(t.GetProperty("x")));
        Assert.Equal(7, t.GetProperty("nbinsx").GetInt32());
        Assert.False(one.GetProperty("layout").TryGetProperty("barmode", out _));

        var two = Parse(Charts.Histogram("len", ("a", new[] { 1.0 }), ("b", new[] { 2.0 })));
        Assert.Equal("overlay", two.GetProperty("layout").GetProperty("barmode").GetString());
        Assert.All(two.GetProperty("data").EnumerateArray(), tr => Assert.Equal(0.6, tr.GetProperty("opacity").GetDouble()));
    }

    [Fact]
    public void BandDrawsMeanMinusAndPlusSpreadFilledBetween()
    {
        var data = Parse(Charts.Band("reward", new[] { 0.0, 1, 2 }, ("GRPO", new[] { 1.0, 2, 3 }, new[] { 0.5, 0.25, 1 }))).GetProperty("data");
        Assert.Equal(3, data.GetArrayLength());
        Assert.Equal([0.5, 1.75, 2], Numbers(data[0].GetProperty("y")));    // lower edge
        Assert.Equal([1.5, 2.25, 4], Numbers(data[1].GetProperty("y")));    // upper edge, filled down to the lower
        Assert.Equal("tonexty", data[1].GetProperty("fill").GetString());
        Assert.Equal([1.0, 2, 3], Numbers(data[2].GetProperty("y")));       // the mean, the one legend entry
        Assert.Equal([false, false, true], data.EnumerateArray().Select(tr => tr.GetProperty("showlegend").GetBoolean()));
        Assert.All(data.EnumerateArray(), tr => Assert.Equal("GRPO", tr.GetProperty("legendgroup").GetString()));
    }

    [Fact]
    public void HeatmapKeepsRowsAndLabelsWithRowZeroOnTop()
    {
        var fig = Parse(Charts.Heatmap("m", new double[,] { { 1, 2, 3 }, { 4, 5, 6 } }, ["a", "b", "c"], ["r0", "r1"], colorScale: "Greys"));
        var t = fig.GetProperty("data")[0];
        Assert.Equal("heatmap", t.GetProperty("type").GetString());
        Assert.Equal([4.0, 5, 6], Numbers(t.GetProperty("z")[1]));
        Assert.Equal(["r0", "r1"], t.GetProperty("y").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("reversed", fig.GetProperty("layout").GetProperty("yaxis").GetProperty("autorange").GetString());
    }

    [Fact]
    public void ScatterDrawsMarkers()
    {
        var t = Parse(Charts.Scatter("g", ("x", new[] { 1.0, 2 }, new[] { 3.0, 4 }))).GetProperty("data")[0];
        Assert.Equal("markers", t.GetProperty("mode").GetString());
        Assert.Equal([3.0, 4], Numbers(t.GetProperty("y")));
    }

    [Fact]
    public void BadInputNamesTheHelperAndTheSeries()
    {
        var e = Assert.Throws<ArgumentException>(() => Charts.Line("t", new[] { 1.0, 2 }, ("loss", new[] { 1.0 })));
        Assert.Equal("Charts.Line: series 'loss' has 1 values for 2 x positions", e.Message);
        Assert.Throws<ArgumentException>(() => Charts.Bar("t", ["a"], ("x", new[] { 1.0, 2 })));
        Assert.Throws<ArgumentException>(() => Charts.Line("t", new[] { 1.0 }));
        Assert.Throws<ArgumentException>(() => Charts.Band("t", new[] { 1.0 }, ("m", new[] { 1.0 }, new double[0])));
        Assert.Throws<ArgumentException>(() => Charts.Heatmap("t", new double[,] { { 1, 2 } }, ["a"]));
        Assert.Throws<ArgumentException>(() => Charts.Heatmap("t", new double[,] { { 1 } }, colorScale: "Rainbowish"));
    }

    [Fact]
    public void ResultStaysAPlotlyChartThatPlotlyNetCanStyleFurther()
    {
        var chart = Plotly.NET.CSharp.GenericChartExtensions.WithSize(Charts.Line("t", new[] { 1.0 }, ("a", new[] { 1.0 })), Width: 300, Height: 200);
        var layout = Parse(chart).GetProperty("layout");
        Assert.Equal(300, layout.GetProperty("width").GetInt32());
        Assert.Equal((300, 200), ChartView.Size(ChartView.FigureJson(chart)));
        var combined = Plotly.NET.CSharp.Chart.Combine([chart, Charts.Scatter("s", ("p", new[] { 1.0 }, new[] { 2.0 }))]);
        Assert.Equal(2, Parse(combined).GetProperty("data").GetArrayLength());
    }

    [Fact]
    public void BundleHasPlotlyJsonHtmlAndText()
    {
        var chart = Charts.Line("A </script><script>alert(1)</script>", new[] { 1.0, 2 }, ("y", new[] { 1.0, 2 }));
        var bundle = ChartView.MimeBundle(chart, staticPng: "iVBORw0KGgo=");
        Assert.Equal(["text/html", ChartView.PlotlyMime, "text/plain"], bundle.Keys);
        Assert.Equal(ChartView.FigureJson(chart), bundle[ChartView.PlotlyMime]);
        Assert.Equal("Chart 'A </script><script>alert(1)</script>': 1 trace(s) [scatter 'y']", bundle["text/plain"]);

        var html = bundle["text/html"];
        // The title cannot close the script element early: exactly one opening and one closing script tag.
        Assert.Single(Regex.Matches(html, "<script"));
        Assert.Single(Regex.Matches(html, "</script>"));
        var id = Regex.Match(html, "<div id=\"([^\"]+)\"").Groups[1].Value;
        Assert.StartsWith("mmeureka-plot-", id);
        Assert.Contains($"style=\"width:{Charts.Width}px;height:{Charts.Height}px;\"><img class=\"mmeureka-static\" alt=\"chart\" src=\"data:image/png;base64,iVBORw0KGgo=\"></div>", html);
        Assert.Contains("Plotly.newPlot(id, figure.data, figure.layout", html);
        Assert.Contains(ChartView.PlotlyCdn, html);
        // A second display of the same chart draws into a div of its own.
        Assert.NotEqual(id, Regex.Match(ChartView.Html(chart), "<div id=\"([^\"]+)\"").Groups[1].Value);
    }
}
