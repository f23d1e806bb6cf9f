using System.Text.Json;
using MMEureka.Display;

namespace MMEureka.Tests.Display;

public class ChartTests
{
    static JsonElement Parse(Figure f) => JsonDocument.Parse(f.ToJson()).RootElement;

    [Fact]
    public void LineChartHasOneScatterTracePerSeriesWithTheValues()
    {
        var fig = Chart.Line(new[] { 1, 2, 3 }, ("loss", new[] { 3.0, 2.0, 1.5 }), ("acc", new float[] { 0.1f, 0.5f, 0.75f }));
        var data = Parse(fig).GetProperty("data");
        Assert.Equal(2, data.GetArrayLength());
        Assert.All(data.EnumerateArray(), t => Assert.Equal("scatter", t.GetProperty("type").GetString()));
        Assert.All(data.EnumerateArray(), t => Assert.Equal("lines", t.GetProperty("mode").GetString()));
        Assert.Equal("loss", data[0].GetProperty("name").GetString());
        Assert.Equal([1.0, 2.0, 3.0], data[0].GetProperty("x").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal([0.1f, 0.5, 0.75], data[1].GetProperty("y").EnumerateArray().Select(e => e.GetDouble()));
    }

    [Fact]
    public void LogAxesAndTitlesLandInTheLayout()
    {
        var fig = Chart.Line(new[] { 1, 10, 100 }, ("loss", new[] { 1.0, 0.1, 0.01 }))
            .WithTitle("Loss").WithXAxis("step", log: true).WithYAxis("value", log: true);
        var layout = Parse(fig).GetProperty("layout");
        Assert.Equal("Loss", layout.GetProperty("title").GetProperty("text").GetString());
        Assert.Equal("log", layout.GetProperty("xaxis").GetProperty("type").GetString());
        Assert.Equal("log", layout.GetProperty("yaxis").GetProperty("type").GetString());
        Assert.Equal("step", layout.GetProperty("xaxis").GetProperty("title").GetProperty("text").GetString());

        var linear = Parse(Chart.Line("x", new[] { 1.0, 2.0 }).WithYAxis("v")).GetProperty("layout").GetProperty("yaxis");
        Assert.False(linear.TryGetProperty("type", out _));
    }

    [Fact]
    public void NonFiniteValuesBecomeNull()
    {
        var fig = Chart.Line(new[] { 0.0, 1, 2, 3 }, ("y", new[] { 1.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity }));
        var json = fig.ToJson();
        Assert.DoesNotContain("NaN", json);
        Assert.DoesNotContain("Infinity", json);
        var y = Parse(fig).GetProperty("data")[0].GetProperty("y");
        Assert.Equal(JsonValueKind.Number, y[0].ValueKind);
        Assert.All(Enumerable.Range(1, 3), i => Assert.Equal(JsonValueKind.Null, y[i].ValueKind));

        var heat = Parse(Chart.Heatmap(new double[,] { { 1, double.NaN } })).GetProperty("data")[0].GetProperty("z");
        Assert.Equal(JsonValueKind.Null, heat[0][1].ValueKind);
    }

    [Fact]
    public void NumbersAreWrittenInInvariantForm()
    {
        var json = Chart.Line(new[] { 0.5 }, ("y", new[] { 1234.25 })).ToJson();
        Assert.Contains("[0.5]", json);
        Assert.Contains("[1234.25]", json);
    }

    [Fact]
    public void BarChartGroupsSeriesOverCategories()
    {
        var fig = Chart.Bar(["GRPO", "CPGD"], ("acc", new[] { 0.4, 0.5 }), ("len", new[] { 10.0, 12 }));
        var root = Parse(fig);
        Assert.Equal("group", root.GetProperty("layout").GetProperty("barmode").GetString());
        var data = root.GetProperty("data");
        Assert.All(data.EnumerateArray(), t => Assert.Equal("bar", t.GetProperty("type").GetString()));
        Assert.Equal(["GRPO", "CPGD"], data[1].GetProperty("x").EnumerateArray().Select(e => e.GetString()));
        Assert.Throws<ArgumentException>(() => Chart.Bar(["a"], ("x", new[] { 1.0, 2 })));
    }

    [Fact]
    public void HistogramDropsNonFiniteValuesAndSetsBins()
    {
        var t = Parse(Chart.Histogram(new[] { 1.0, 2, double.NaN, 3 }, bins: 7)).GetProperty("data")[0];
        Assert.Equal("histogram", t.GetProperty("type").GetString());
        Assert.Equal(3, t.GetProperty("x").GetArrayLength());
        Assert.Equal(7, t.GetProperty("nbinsx").GetInt32());
        var overlay = Parse(Chart.Histogram(null, ("a", new[] { 1.0 }), ("b", new[] { 2.0 })));
        Assert.Equal("overlay", overlay.GetProperty("layout").GetProperty("barmode").GetString());
    }

    [Fact]
    public void HeatmapKeepsRowsAndLabelsAndReadsTopDown()
    {
        var fig = Chart.Heatmap(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } }, ["a", "b", "c"], ["r0", "r1"]);
        var root = Parse(fig);
        var t = root.GetProperty("data")[0];
        Assert.Equal("heatmap", t.GetProperty("type").GetString());
        Assert.Equal(2, t.GetProperty("z").GetArrayLength());
        Assert.Equal(6, t.GetProperty("z")[1][2].GetDouble());
        Assert.Equal("c", t.GetProperty("x")[2].GetString());
        Assert.Equal("reversed", root.GetProperty("layout").GetProperty("yaxis").GetProperty("autorange").GetString());
        Assert.Throws<ArgumentException>(() => Chart.Heatmap(new double[,] { { 1, 2 } }, ["a"]));
    }

    [Fact]
    public void GridGivesEachCellItsOwnAnchoredAxesInDisjointDomains()
    {
        var a = Chart.Line("loss", new[] { 3.0, 2, 1 }).WithTitle("A").WithYAxis("loss", log: true);
        var b = Chart.Bar(["x", "y"], ("n", new[] { 1.0, 2 })).WithTitle("B");
        var c = Chart.Histogram(new[] { 1.0, 2, 2, 3 }).WithTitle("C");
        var grid = Parse(Chart.Grid(2, 2, a, b, c));
        var data = grid.GetProperty("data");
        Assert.Equal(3, data.GetArrayLength());
        Assert.False(data[0].TryGetProperty("xaxis", out _)); // cell 1 uses plotly's default "x"/"y"
        Assert.Equal("x2", data[1].GetProperty("xaxis").GetString());
        Assert.Equal("y3", data[2].GetProperty("yaxis").GetString());
        var layout = grid.GetProperty("layout");
        Assert.Equal("y2", layout.GetProperty("xaxis2").GetProperty("anchor").GetString());
        Assert.Equal("x3", layout.GetProperty("yaxis3").GetProperty("anchor").GetString());
        Assert.Equal("log", layout.GetProperty("yaxis").GetProperty("type").GetString()); // cell A keeps its log axis
        Assert.False(layout.GetProperty("yaxis2").TryGetProperty("type", out _));

        (double, double) Dom(string axis) { var d = layout.GetProperty(axis).GetProperty("domain"); return (d[0].GetDouble(), d[1].GetDouble()); }
        var (x1a, x1b) = Dom("xaxis"); var (x2a, x2b) = Dom("xaxis2"); var (x3a, x3b) = Dom("xaxis3");
        var (y1a, y1b) = Dom("yaxis"); var (y3a, y3b) = Dom("yaxis3");
        Assert.True(0 <= x1a && x1a < x1b && x1b < x2a && x2a < x2b && x2b <= 1); // side by side in row 0
        Assert.Equal((x1a, x1b), (x3a, x3b));                                      // same column
        Assert.True(0 <= y3a && y3a < y3b && y3b < y1a && y1a < y1b && y1b <= 1); // row 1 below row 0
        var titles = layout.GetProperty("annotations").EnumerateArray().Select(e => e.GetProperty("text").GetString());
        Assert.Equal(["A", "B", "C"], titles);
        Assert.Throws<ArgumentException>(() => Chart.Grid(1, 1, a, b));
    }

    [Fact]
    public void TextIsEscapedInJsonAndForPlotly()
    {
        var fig = Chart.Line("<script>alert(1)</script>", new[] { 1.0 }).WithTitle("</script><script>alert(2)</script>");
        var html = fig.ToHtml();
        Assert.DoesNotContain("<script>alert", html);
        Assert.DoesNotContain("</script><script>", html);
        var title = Parse(fig).GetProperty("layout").GetProperty("title").GetProperty("text").GetString();
        Assert.Equal("&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;", title);
    }

    [Fact]
    public void HtmlDrawsIntoItsOwnDivAndLoadsPlotlyWhenMissing()
    {
        var fig = Chart.Line("y", new[] { 1.0, 2 });
        var h1 = fig.ToHtml();
        var h2 = fig.ToHtml();
        var id1 = System.Text.RegularExpressions.Regex.Match(h1, "<div id=\"([^\"]+)\"").Groups[1].Value;
        var id2 = System.Text.RegularExpressions.Regex.Match(h2, "<div id=\"([^\"]+)\"").Groups[1].Value;
        Assert.StartsWith("mmeureka-plot-", id1);
        Assert.NotEqual(id1, id2);
        Assert.Contains($"var id = '{id1}'", h1);
        Assert.Contains("Plotly.newPlot(id, figure.data, figure.layout", h1);
        Assert.Contains("if (window.Plotly)", h1);
        Assert.Contains("window.requirejs", h1);
        Assert.Contains("https://cdn.plot.ly/plotly-2.35.2.min", h1);
        // The embedded JSON is exactly the figure's JSON.
        Assert.Contains("var figure = " + fig.ToJson() + ";", h1);
    }

    [Fact]
    public void FluentMethodsDoNotChangeTheOriginal()
    {
        var fig = Chart.Line("y", new[] { 1.0 });
        _ = fig.WithTitle("t").WithYAxis("v", log: true);
        Assert.Null(fig.Layout.Title);
        Assert.False(fig.Layout.YAxes[0].Log);
    }
}
