using System.Text.Json;

namespace MMEureka.Display;

/// <summary>
/// One plotly trace: a named series drawn on a pair of axes. The kinds are <see cref="ScatterTrace"/> (lines and
/// markers), <see cref="BarTrace"/>, <see cref="HistogramTrace"/> and <see cref="HeatmapTrace"/>.
/// </summary>
public abstract record Trace
{
    /// <summary>Legend entry and hover label.</summary>
    public string? Name { get; init; }

    /// <summary>Per-point hover text (optional; one entry per point).</summary>
    public IReadOnlyList<string>? HoverText { get; init; }

    /// <summary>Which x axis (1-based; subplots use 2, 3, …).</summary>
    public int XAxis { get; init; } = 1;

    /// <summary>Which y axis (1-based).</summary>
    public int YAxis { get; init; } = 1;

    /// <summary>Whether the trace appears in the legend.</summary>
    public bool ShowLegend { get; init; } = true;

    /// <summary>Plotly's trace type name ("scatter", "bar", …).</summary>
    public abstract string Type { get; }

    /// <summary>Writes the trace as a plotly JSON object.</summary>
    internal void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("type", Type);
        if (Name is not null) PlotlyJson.Text(w, "name", Name);
        if (HoverText is not null) PlotlyJson.Texts(w, "hovertext", HoverText);
        if (XAxis > 1) w.WriteString("xaxis", PlotlyJson.AxisRef('x', XAxis));
        if (YAxis > 1) w.WriteString("yaxis", PlotlyJson.AxisRef('y', YAxis));
        if (!ShowLegend) w.WriteBoolean("showlegend", false);
        WriteFields(w);
        w.WriteEndObject();
    }

    /// <summary>The kind-specific fields.</summary>
    private protected abstract void WriteFields(Utf8JsonWriter w);
}
