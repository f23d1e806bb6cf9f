using System.Text.Json;

namespace MMEureka.Display;

/// <summary>A plotly heatmap trace: a matrix of values, row 0 first, with optional column and row labels.</summary>
public sealed record HeatmapTrace : Trace
{
    /// <summary>Creates a trace from a rectangular matrix [rows, columns].</summary>
    public HeatmapTrace(double[,] z, IEnumerable<string>? xLabels = null, IEnumerable<string>? yLabels = null)
    {
        int rows = z.GetLength(0), cols = z.GetLength(1);
        Z = new double[rows][];
        for (int r = 0; r < rows; r++)
        {
            Z[r] = new double[cols];
            for (int c = 0; c < cols; c++) Z[r][c] = z[r, c];
        }
        XLabels = xLabels?.ToArray();
        YLabels = yLabels?.ToArray();
        if (XLabels is not null && XLabels.Length != cols) throw new ArgumentException($"heatmap: {XLabels.Length} x labels for {cols} columns");
        if (YLabels is not null && YLabels.Length != rows) throw new ArgumentException($"heatmap: {YLabels.Length} y labels for {rows} rows");
    }

    /// <summary>The values, one array per row.</summary>
    public double[][] Z { get; }

    /// <summary>Column labels, or null for 0, 1, ….</summary>
    public string[]? XLabels { get; }

    /// <summary>Row labels, or null for 0, 1, ….</summary>
    public string[]? YLabels { get; }

    /// <summary>A plotly colour scale name.</summary>
    public string ColorScale { get; init; } = "Viridis";

    /// <summary>Whether to draw the colour bar.</summary>
    public bool ShowScale { get; init; } = true;

    /// <summary>Where the colour bar sits in paper coordinates (x, centre y, length); null: plotly's default.</summary>
    public (double X, double Y, double Length)? ColorBarAt { get; init; }

    /// <inheritdoc/>
    public override string Type => "heatmap";

    private protected override void WriteFields(Utf8JsonWriter w)
    {
        w.WriteStartArray("z");
        foreach (var row in Z)
        {
            w.WriteStartArray();
            foreach (var v in row) PlotlyJson.Number(w, v);
            w.WriteEndArray();
        }
        w.WriteEndArray();
        if (XLabels is not null) PlotlyJson.Texts(w, "x", XLabels);
        if (YLabels is not null) PlotlyJson.Texts(w, "y", YLabels);
        w.WriteString("colorscale", ColorScale);
        if (!ShowScale) w.WriteBoolean("showscale", false);
        if (ColorBarAt is var (x, y, len))
        {
            w.WriteStartObject("colorbar");
            w.WriteNumber("x", x);
            w.WriteNumber("y", y);
            w.WriteNumber("len", len);
            w.WriteEndObject();
        }
    }
}
