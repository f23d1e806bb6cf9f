using System.Text.Json;

namespace MMEureka.Display;

/// <summary>A plotly bar trace: one value per category. Several bar traces in a figure are grouped side by side.</summary>
public sealed record BarTrace : Trace
{
    /// <summary>Creates a trace; one value per category.</summary>
    public BarTrace(IEnumerable<string> categories, Numbers values)
    {
        Categories = categories.ToArray();
        if (Categories.Length != values.Count)
            throw new ArgumentException($"bar trace: {Categories.Length} categories but {values.Count} values");
        Values = values.Values;
    }

    /// <summary>Category labels along x.</summary>
    public string[] Categories { get; }

    /// <summary>Bar heights.</summary>
    public double[] Values { get; }

    /// <inheritdoc/>
    public override string Type => "bar";

    private protected override void WriteFields(Utf8JsonWriter w)
    {
        PlotlyJson.Texts(w, "x", Categories);
        PlotlyJson.Numbers(w, "y", Values);
    }
}
