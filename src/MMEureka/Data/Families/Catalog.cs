namespace MMEureka.Data.Families;

/// <summary>All MiniK12 families, in the fixed order the generator cycles through (problem i uses family i mod 10).</summary>
public static class Catalog
{
    /// <summary>The families: elementary first, then middle, then high school.</summary>
    public static readonly IReadOnlyList<FamilyInfo> All =
    [
        CountShapes.Info, CompareCounts.Info, FractionGrid.Info, Clock.Info,
        BarChart.Info, NumberLine.Info, Rectangle.Info, TriangleAngles.Info,
        Slope.Info, Probability.Info,
    ];

    /// <summary>A family by name; throws with the list of names otherwise.</summary>
    public static FamilyInfo Get(string name) => All.FirstOrDefault(f => f.Name == name)
        ?? throw new ArgumentException($"unknown family '{name}'; known: {string.Join(", ", All.Select(f => f.Name))}");
}
