using Plotly.NET;
using CS = Plotly.NET.CSharp;

namespace MMEureka.Display;

/// <summary>
/// One-line Plotly.NET charts for the notebooks' common cases. Each returns a plain <see cref="GenericChart"/> that
/// Plotly.NET can style further (<c>Plotly.NET.CSharp.GenericChartExtensions</c>, <c>Chart.Combine</c> ...):
/// <code>
/// Charts.Line("SFT loss", steps, ("train", train), ("eval", eval))                       // several series
/// Charts.Line("SFT loss", steps, [("train", train)], xTitle: "step", yTitle: "nats", logY: true)
/// Charts.Line("SFT loss", steps, ("train", train)).WithAxes("step", "nats", logY: true)   // the same, fluently
/// </code>
/// Axis options are named parameters of the overloads that take the series as one array (C# allows no parameter after
/// a <c>params</c> list), or of <see cref="WithAxes"/>.
/// </summary>
public static class Charts
{
    /// <summary>Size every helper gives its chart (pixels); <c>WithSize</c> changes it.</summary>
    public const int Width = 720, Height = 420;

    // plotly's default colour cycle, so that a band's fill matches its line.
    static readonly string[] Palette = ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52"];

    /// <summary>Line chart: one curve per named series against the shared <paramref name="xs"/>.</summary>
    public static GenericChart Line(string title, IReadOnlyList<double> xs, params (string name, IReadOnlyList<double> ys)[] series) =>
        Line(title, xs, series, xTitle: null);

    /// <summary>Line chart of one series, with axis options.</summary>
    public static GenericChart Line(string title, IReadOnlyList<double> xs, (string name, IReadOnlyList<double> ys) series,
        string? xTitle = null, string? yTitle = null, bool logX = false, bool logY = false) =>
        Line(title, xs, [series], xTitle, yTitle, logX, logY);

    /// <summary>Line chart of several series, with axis options.</summary>
    public static GenericChart Line(string title, IReadOnlyList<double> xs, (string name, IReadOnlyList<double> ys)[] series,
        string? xTitle = null, string? yTitle = null, bool logX = false, bool logY = false)
    {
        Require(series.Length > 0, "Charts.Line needs at least one series");
        foreach (var (name, ys) in series) SameLength("Charts.Line", name, xs.Count, ys.Count);
        var traces = series.Select(s => CS.Chart.Line<double, double, string>(xs, s.ys, Name: s.name, ShowLegend: true));
        return Finish(CS.Chart.Combine(traces), title, xTitle, yTitle, logX, logY);
    }

    /// <summary>Line chart of series that each have their own x (e.g. a train metric logged every step, an eval metric every 100).</summary>
    public static GenericChart Curves(string title, params (string name, IReadOnlyList<double> xs, IReadOnlyList<double> ys)[] series) =>
        Curves(title, series, xTitle: null);

    /// <summary>Curves with their own x, with axis options.</summary>
    public static GenericChart Curves(string title, (string name, IReadOnlyList<double> xs, IReadOnlyList<double> ys)[] series,
        string? xTitle = null, string? yTitle = null, bool logX = false, bool logY = false)
    {
        Require(series.Length > 0, "Charts.Curves needs at least one series");
        foreach (var (name, xs, ys) in series) SameLength("Charts.Curves", name, xs.Count, ys.Count);
        var traces = series.Select(s => CS.Chart.Line<double, double, string>(s.xs, s.ys, Name: s.name, ShowLegend: true));
        return Finish(CS.Chart.Combine(traces), title, xTitle, yTitle, logX, logY);
    }

    /// <summary>Draws several charts on the same axes (e.g. points over a heatmap), under one title.</summary>
    public static GenericChart Combine(string title, params GenericChart[] charts)
    {
        Require(charts.Length > 0, "Charts.Combine needs at least one chart");
        return CS.Chart.Combine(charts).WithTitle(title);
    }

    /// <summary>Scatter plot (markers only): one point cloud per named series.</summary>
    public static GenericChart Scatter(string title, params (string name, IReadOnlyList<double> xs, IReadOnlyList<double> ys)[] series) =>
        Scatter(title, series, xTitle: null);

    /// <summary>Scatter plot with axis options.</summary>
    public static GenericChart Scatter(string title, (string name, IReadOnlyList<double> xs, IReadOnlyList<double> ys)[] series,
        string? xTitle = null, string? yTitle = null, bool logX = false, bool logY = false)
    {
        Require(series.Length > 0, "Charts.Scatter needs at least one series");
        foreach (var (name, xs, ys) in series) SameLength("Charts.Scatter", name, xs.Count, ys.Count);
        var traces = series.Select(s => CS.Chart.Point<double, double, string>(s.xs, s.ys, Name: s.name, ShowLegend: true));
        return Finish(CS.Chart.Combine(traces), title, xTitle, yTitle, logX, logY);
    }

    /// <summary>Bar chart: one bar per category and series, several series grouped side by side.</summary>
    public static GenericChart Bar(string title, IReadOnlyList<string> categories, params (string name, IReadOnlyList<double> values)[] series) =>
        Bar(title, categories, series, xTitle: null);

    /// <summary>Bar chart of one series, with axis options.</summary>
    public static GenericChart Bar(string title, IReadOnlyList<string> categories, (string name, IReadOnlyList<double> values) series,
        string? xTitle = null, string? yTitle = null, bool logY = false) =>
        Bar(title, categories, [series], xTitle, yTitle, logY);

    /// <summary>Bar chart of several series, with axis options.</summary>
    public static GenericChart Bar(string title, IReadOnlyList<string> categories, (string name, IReadOnlyList<double> values)[] series,
        string? xTitle = null, string? yTitle = null, bool logY = false)
    {
        Require(series.Length > 0, "Charts.Bar needs at least one series");
        foreach (var (name, values) in series) SameLength("Charts.Bar", name, categories.Count, values.Count);
        // Plotly calls vertical bars "columns"; its default bar mode groups several series.
        var traces = series.Select(s => CS.Chart.Column<double, string, string>(s.values, Keys: new(categories, true), Name: s.name, ShowLegend: true));
        return Finish(CS.Chart.Combine(traces), title, xTitle, yTitle, logX: false, logY);
    }

    /// <summary>Histogram of raw values (plotly chooses the bins); several series are overlaid translucently.</summary>
    public static GenericChart Histogram(string title, params (string name, IReadOnlyList<double> values)[] series) =>
        Histogram(title, series, xTitle: null);

    /// <summary>Histogram of one series, with options (<paramref name="bins"/>: at most this many bins).</summary>
    public static GenericChart Histogram(string title, (string name, IReadOnlyList<double> values) series,
        string? xTitle = null, string? yTitle = null, int? bins = null) =>
        Histogram(title, [series], xTitle, yTitle, bins);

    /// <summary>Histogram of several series, with options.</summary>
    public static GenericChart Histogram(string title, (string name, IReadOnlyList<double> values)[] series,
        string? xTitle = null, string? yTitle = null, int? bins = null)
    {
        Require(series.Length > 0, "Charts.Histogram needs at least one series");
        Require(bins is null or > 0, $"Charts.Histogram: bins = {bins} must be positive");
        // Several histograms overlap: translucent bars keep each visible.
        double opacity = series.Length > 1 ? 0.6 : 1.0;
        var traces = series.Select(s => bins is int n
            ? CS.Chart.Histogram<double, double, string>(X: new(s.values, true), Name: s.name, ShowLegend: true, Opacity: opacity, NBinsX: n)
            : CS.Chart.Histogram<double, double, string>(X: new(s.values, true), Name: s.name, ShowLegend: true, Opacity: opacity));
        var chart = CS.Chart.Combine(traces);
        if (series.Length > 1) chart = Plotly.NET.Chart.withLayout(LayoutWith("barmode", "overlay")).Invoke(chart);
        return Finish(chart, title, xTitle, yTitle, logX: false, logY: false);
    }

    /// <summary>
    /// Mean curves with a shaded band of mean ± spread around each (e.g. the spread of rewards over a group, or over
    /// seeds); the band shares its curve's colour and legend entry.
    /// </summary>
    public static GenericChart Band(string title, IReadOnlyList<double> xs, params (string name, IReadOnlyList<double> mean, IReadOnlyList<double> spread)[] series) =>
        Band(title, xs, series, xTitle: null);

    /// <summary>Mean ± spread bands, with axis options.</summary>
    public static GenericChart Band(string title, IReadOnlyList<double> xs, (string name, IReadOnlyList<double> mean, IReadOnlyList<double> spread)[] series,
        string? xTitle = null, string? yTitle = null, bool logX = false, bool logY = false)
    {
        Require(series.Length > 0, "Charts.Band needs at least one series");
        var traces = new List<GenericChart>();
        for (int k = 0; k < series.Length; k++)
        {
            var (name, mean, spread) = series[k];
            SameLength("Charts.Band", name, xs.Count, mean.Count);
            SameLength("Charts.Band", name + " (spread)", xs.Count, spread.Count);
            var colour = Palette[k % Palette.Length];
            var lower = mean.Select((m, i) => m - spread[i]).ToArray();
            var upper = mean.Select((m, i) => m + spread[i]).ToArray();
            // Lower edge first, then the upper edge filled down to it ("tonexty"), then the mean on top.
            var line = Color.fromString(colour);
            traces.Add(Grouped(CS.Chart.Line<double, double, string>(xs, lower, Name: name, ShowLegend: false, LineColor: line, LineWidth: 0.0), name));
            traces.Add(Grouped(CS.Chart.Line<double, double, string>(xs, upper, Name: name + " ± spread", ShowLegend: false, LineColor: line, LineWidth: 0.0,
                Fill: StyleParam.Fill.ToNext_y, FillColor: Color.fromString(Translucent(colour))), name));
            traces.Add(Grouped(CS.Chart.Line<double, double, string>(xs, mean, Name: name, ShowLegend: true, LineColor: line), name));
        }
        return Finish(CS.Chart.Combine(traces), title, xTitle, yTitle, logX, logY);
    }

    /// <summary>Heatmap of a matrix [rows, columns] with labelled rows and columns, row 0 at the top (as a matrix reads).</summary>
    public static GenericChart Heatmap(string title, double[,] z, IReadOnlyList<string>? xLabels = null, IReadOnlyList<string>? yLabels = null,
        string? xTitle = null, string? yTitle = null, string colorScale = "Viridis", bool showScale = true) =>
        Heatmap(title, z, xLabels ?? Enumerable.Range(0, z.GetLength(1)).Select(c => c.ToString()).ToArray(),
            yLabels ?? Enumerable.Range(0, z.GetLength(0)).Select(r => r.ToString()).ToArray(), reverseY: true, xTitle, yTitle, colorScale, showScale);

    /// <summary>
    /// Heatmap of a function sampled on a grid: z[row, column] at (xs[column], ys[row]), y growing upwards, on numeric
    /// axes that points can share (see <see cref="Combine"/>).
    /// </summary>
    public static GenericChart Heatmap(string title, double[,] z, IReadOnlyList<double> xs, IReadOnlyList<double> ys,
        string? xTitle = null, string? yTitle = null, string colorScale = "Viridis", bool showScale = true) =>
        Heatmap(title, z, xs, ys, reverseY: false, xTitle, yTitle, colorScale, showScale);

    static GenericChart Heatmap<T>(string title, double[,] z, IReadOnlyList<T> xs, IReadOnlyList<T> ys, bool reverseY,
        string? xTitle, string? yTitle, string colorScale, bool showScale) where T : IConvertible
    {
        int rows = z.GetLength(0), cols = z.GetLength(1);
        Require(xs.Count == cols, $"Charts.Heatmap: {xs.Count} x labels for {cols} columns");
        Require(ys.Count == rows, $"Charts.Heatmap: {ys.Count} y labels for {rows} rows");
        var zz = Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, cols).Select(c => z[r, c]).ToArray()).ToArray();
        var chart = CS.Chart.Heatmap<double, T, T, string>(zz, X: new(xs, true), Y: new(ys, true), ShowScale: showScale,
            ColorScale: Scale(colorScale), ReverseYAxis: reverseY);
        return Finish(chart, title, xTitle, yTitle, logX: false, logY: false);
    }

    /// <summary>Sets axis titles and log scales on a chart (every x and y axis of a single-plot chart).</summary>
    public static GenericChart WithAxes(this GenericChart chart, string? xTitle = null, string? yTitle = null, bool logX = false, bool logY = false)
    {
        if (xTitle is not null || logX)
            chart = CS.GenericChartExtensions.WithXAxisStyle<double, double, string>(chart,
                TitleText: new(xTitle!, xTitle is not null), AxisType: new(StyleParam.AxisType.Log, logX));
        if (yTitle is not null || logY)
            chart = CS.GenericChartExtensions.WithYAxisStyle<double, double, string>(chart,
                TitleText: new(yTitle!, yTitle is not null), AxisType: new(StyleParam.AxisType.Log, logY));
        return chart;
    }

    /// <summary>Sets the chart's title.</summary>
    public static GenericChart WithTitle(this GenericChart chart, string title) =>
        Plotly.NET.Chart.withTitle(Title.init(title, null, null, null, null, null, null, null, null, null, null, null)).Invoke(chart);

    static GenericChart Finish(GenericChart chart, string title, string? xTitle, string? yTitle, bool logX, bool logY) =>
        CS.GenericChartExtensions.WithSize(chart.WithTitle(title).WithAxes(xTitle, yTitle, logX, logY), Width: Width, Height: Height);

    // Clicking a legend entry hides the band with its curve.
    static GenericChart Grouped(GenericChart chart, string group) => CS.GenericChartExtensions.WithTraceInfo(chart, LegendGroup: group);

    static Plotly.NET.Layout LayoutWith(string property, object value)
    {
        var layout = new Plotly.NET.Layout();
        layout.SetProperty(property, value);
        return layout;
    }

    // "#rrggbb" -> the same colour at 20% opacity.
    static string Translucent(string hex) =>
        $"rgba({Convert.ToInt32(hex[1..3], 16)},{Convert.ToInt32(hex[3..5], 16)},{Convert.ToInt32(hex[5..7], 16)},0.2)";

    static StyleParam.Colorscale Scale(string name) => name switch
    {
        "Greys" => StyleParam.Colorscale.Greys,
        "RdBu" => StyleParam.Colorscale.RdBu,
        "Viridis" => StyleParam.Colorscale.Viridis,
        _ => throw new ArgumentException($"Charts.Heatmap: colour scale '{name}' is not one of Greys, RdBu, Viridis"),
    };

    static void Require(bool condition, string message)
    {
        if (!condition) throw new ArgumentException(message);
    }

    static void SameLength(string where, string name, int expected, int actual) =>
        Require(expected == actual, $"{where}: series '{name}' has {actual} values for {expected} x positions");
}
