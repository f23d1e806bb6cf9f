namespace MMEureka.Display;

/// <summary>
/// One-line charts for notebook cells, each returning a <see cref="Figure"/> to refine fluently, e.g.
/// <c>Chart.Line(steps, ("loss", loss), ("reward", reward)).WithTitle("GRPO").WithYAxis("value", log: true)</c>.
/// </summary>
public static class Chart
{
    /// <summary>Line chart: one curve per named series against a shared x.</summary>
    public static Figure Line(Numbers x, params (string Name, Numbers Y)[] ys)
    {
        if (ys.Length == 0) throw new ArgumentException("Chart.Line needs at least one series");
        return new Figure(ys.Select(s => (Trace)new ScatterTrace(x, s.Y) { Name = s.Name }).ToArray());
    }

    /// <summary>Line chart of a single series against its index 0, 1, ….</summary>
    public static Figure Line(string name, Numbers y) => Line(Numbers.Range(y.Count), (name, y));

    /// <summary>Scatter plot (markers), with optional per-point hover text.</summary>
    public static Figure Scatter(Numbers x, Numbers y, string? name = null, IEnumerable<string>? hoverText = null)
    {
        var hover = hoverText?.ToArray();
        if (hover is not null && hover.Length != x.Count)
            throw new ArgumentException($"Chart.Scatter: {hover.Length} hover texts for {x.Count} points");
        return new Figure(new ScatterTrace(x, y, ScatterMode.Markers) { Name = name, HoverText = hover });
    }

    /// <summary>Bar chart; several series are grouped side by side per category.</summary>
    public static Figure Bar(IEnumerable<string> categories, params (string Name, Numbers Values)[] series)
    {
        if (series.Length == 0) throw new ArgumentException("Chart.Bar needs at least one series");
        var cats = categories.ToArray();
        var figure = new Figure(series.Select(s => (Trace)new BarTrace(cats, s.Values) { Name = s.Name }).ToArray());
        return figure with { Layout = figure.Layout with { BarMode = "group" } };
    }

    /// <summary>Histogram of raw values (plotly bins them); several series are overlaid translucently.</summary>
    public static Figure Histogram(Numbers values, int? bins = null, string? name = null) =>
        new(new HistogramTrace(values, bins) { Name = name });

    /// <summary>Overlaid histograms of several named series.</summary>
    public static Figure Histogram(int? bins, params (string Name, Numbers Values)[] series)
    {
        if (series.Length == 0) throw new ArgumentException("Chart.Histogram needs at least one series");
        var figure = new Figure(series.Select(s => (Trace)new HistogramTrace(s.Values, bins) { Name = s.Name, Opacity = 0.6 }).ToArray());
        return figure with { Layout = figure.Layout with { BarMode = "overlay" } };
    }

    /// <summary>Heatmap of a matrix [rows, columns], row 0 at the top (as a matrix reads).</summary>
    public static Figure Heatmap(double[,] z, IEnumerable<string>? xLabels = null, IEnumerable<string>? yLabels = null)
    {
        var figure = new Figure(new HeatmapTrace(z, xLabels, yLabels));
        return figure with { Layout = figure.Layout with { YAxes = [new Axis { Reversed = true }] } };
    }

    /// <summary>Heatmap of a float matrix.</summary>
    public static Figure Heatmap(float[,] z, IEnumerable<string>? xLabels = null, IEnumerable<string>? yLabels = null)
    {
        var d = new double[z.GetLength(0), z.GetLength(1)];
        for (int r = 0; r < d.GetLength(0); r++)
            for (int c = 0; c < d.GetLength(1); c++) d[r, c] = z[r, c];
        return Heatmap(d, xLabels, yLabels);
    }

    /// <summary>
    /// A grid of subplots, filled row by row: cell k gets axes x(k+1)/y(k+1) with its own domain, keeps its figure's
    /// axis titles and scales, and shows its figure's title above it. Legends merge; a series name that repeats
    /// across cells is listed once.
    /// </summary>
    public static Figure Grid(int rows, int cols, params Figure[] figures)
    {
        if (rows <= 0 || cols <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"Chart.Grid: {rows}x{cols} must be positive");
        if (figures.Length == 0 || figures.Length > rows * cols)
            throw new ArgumentException($"Chart.Grid: {figures.Length} figures for a {rows}x{cols} grid");
        const double gapX = 0.08, gapY = 0.14;
        double w = (1 - gapX * (cols - 1)) / cols, h = (1 - gapY * (rows - 1)) / rows;
        var traces = new List<Trace>();
        var xAxes = new List<Axis>();
        var yAxes = new List<Axis>();
        var titles = new List<Annotation>();
        var legendNames = new HashSet<string>();
        string? barMode = null;
        for (int k = 0; k < figures.Length; k++)
        {
            var f = figures[k];
            int row = k / cols, col = k % cols, axis = k + 1;
            // Rounded so that the last cell ends at exactly 1 and the JSON stays short.
            double x0 = Math.Round(col * (w + gapX), 6), x1 = Math.Round(x0 + w, 6);
            double y1 = Math.Round(1 - row * (h + gapY), 6), y0 = Math.Round(y1 - h, 6);
            xAxes.Add((f.Layout.XAxes.Count > 0 ? f.Layout.XAxes[0] : new Axis()) with
            {
                Domain = (x0, x1), Anchor = PlotlyJson.AxisRef('y', axis),
            });
            yAxes.Add((f.Layout.YAxes.Count > 0 ? f.Layout.YAxes[0] : new Axis()) with
            {
                Domain = (y0, y1), Anchor = PlotlyJson.AxisRef('x', axis),
            });
            if (f.Layout.Title is not null) titles.Add(new Annotation(f.Layout.Title, (x0 + x1) / 2, y1));
            barMode ??= f.Layout.BarMode;
            foreach (var t in f.Traces)
            {
                var placed = t with { XAxis = axis, YAxis = axis, ShowLegend = t.ShowLegend && t.Name is not null && legendNames.Add(t.Name) };
                if (placed is HeatmapTrace heat) placed = heat with { ColorBarAt = (x1 + 0.005, (y0 + y1) / 2, h) };
                traces.Add(placed);
            }
        }
        var layout = new Layout
        {
            Height = 300 * rows + 60, XAxes = xAxes, YAxes = yAxes, Annotations = titles, BarMode = barMode,
        };
        return new Figure(traces, layout);
    }
}
