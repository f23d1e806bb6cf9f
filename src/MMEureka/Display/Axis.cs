using System.Text.Json;

namespace MMEureka.Display;

/// <summary>One plotly axis: title, linear or log scale, direction, and (in a subplot grid) its domain and anchor.</summary>
public sealed record Axis
{
    /// <summary>Axis title.</summary>
    public string? Title { get; init; }

    /// <summary>Logarithmic scale (plotly "type": "log").</summary>
    public bool Log { get; init; }

    /// <summary>Draw high-to-low (heatmaps show row 0 at the top this way).</summary>
    public bool Reversed { get; init; }

    /// <summary>Fraction of the figure the axis spans, [start, end] in [0, 1]; null: the whole figure.</summary>
    public (double Start, double End)? Domain { get; init; }

    /// <summary>The axis this one is drawn against, e.g. "y2" for x axis 2; null: plotly's default.</summary>
    public string? Anchor { get; init; }

    internal void WriteJson(Utf8JsonWriter w, string name)
    {
        w.WriteStartObject(name);
        PlotlyJson.Title(w, Title);
        if (Log) w.WriteString("type", "log");
        if (Reversed) w.WriteString("autorange", "reversed");
        if (Domain is var (start, end))
        {
            w.WriteStartArray("domain");
            w.WriteNumberValue(start);
            w.WriteNumberValue(end);
            w.WriteEndArray();
        }
        if (Anchor is not null) w.WriteString("anchor", Anchor);
        w.WriteEndObject();
    }
}
