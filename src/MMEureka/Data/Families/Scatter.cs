namespace MMEureka.Data.Families;

/// <summary>Object placement shared by the counting-style families: distinct cells of a 5x5 grid, jittered.</summary>
internal static class Scatter
{
    public const int Cells = 25, CellSize = 9, ObjectSize = 7;

    /// <summary>Centres of <paramref name="count"/> objects: at least one background pixel between any two, so they can be counted.</summary>
    public static (int X, int Y)[] Positions(Rng rng, int count) =>
        rng.Sample(Cells, count)
            .Select(cell => (3 + (cell % 5) * CellSize + 4 + rng.Int(0, 1), 3 + (cell / 5) * CellSize + 4 + rng.Int(0, 1)))
            .ToArray();

    /// <summary>Draws the objects at scattered positions.</summary>
    public static void Draw(Rasterizer canvas, Rng rng, IReadOnlyList<(ShapeKind Kind, Rgb Color)> objects)
    {
        var at = Positions(rng, objects.Count);
        for (int i = 0; i < objects.Count; i++) canvas.Shape(objects[i].Kind, at[i].X, at[i].Y, ObjectSize, objects[i].Color);
    }

    /// <summary>Objects in random order (so that drawing order does not group them).</summary>
    public static List<(ShapeKind, Rgb)> Shuffled(Rng rng, List<(ShapeKind, Rgb)> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
        return items;
    }

    public static string Plural(ShapeKind kind) => kind switch
    {
        ShapeKind.Circle => "circles",
        ShapeKind.Square => "squares",
        _ => "triangles",
    };
}
