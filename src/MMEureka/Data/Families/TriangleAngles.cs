using MMEureka.Rewards;

namespace MMEureka.Data.Families;

/// <summary>Middle-school geometry: the missing angle of a triangle, two angles written at its corners (sum 180).</summary>
internal static class TriangleAngles
{
    public static readonly FamilyInfo Info = new("triangle_angles", "geometry", "middle",
        "largest angle (train: all angles 20-80, acute; OOD: one obtuse angle 95-140)", (60, 80), (95, 140), Generate);

    static Draft Generate(Rng rng, bool ood)
    {
        int[] angles;
        if (!ood)
        {
            int a = 5 * rng.Int(4, 16);
            int b = 5 * rng.Int(Math.Max(20, 100 - a) / 5, Math.Min(80, 160 - a) / 5);
            angles = [a, b, 180 - a - b];
        }
        else
        {
            int obtuse = 5 * rng.Int(19, 28), x = 5 * rng.Int(2, (180 - obtuse) / 5 - 2);
            angles = [obtuse, x, 180 - obtuse - x];
        }
        for (int i = 2; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (angles[i], angles[j]) = (angles[j], angles[i]);
        }
        int missing = rng.Next(3);
        (int X, int Y) left = (4, 39), right = (44, 39), apex = (rng.Int(14, 34), rng.Int(11, 14));
        var canvas = new Rasterizer();
        canvas.FillTriangle(left, right, apex, Palette.Light);
        canvas.Line(left.X, left.Y, right.X, right.Y, Palette.Ink);
        canvas.Line(left.X, left.Y, apex.X, apex.Y, Palette.Ink);
        canvas.Line(right.X, right.Y, apex.X, apex.Y, Palette.Ink);
        string Label(int i) => i == missing ? "?" : angles[i].ToString();
        var ink = Palette.Named[1].Color;
        canvas.Text(1, 42, Label(0), ink);
        canvas.Text(48 - BitmapFont.MeasureWidth(Label(1)), 42, Label(1), ink);
        canvas.TextCentered(apex.X, apex.Y - 8, Label(2), ink);
        var known = Enumerable.Range(0, 3).Where(i => i != missing).Select(i => angles[i]).ToArray();
        int sum = known[0] + known[1];
        return new Draft("What is the missing angle, in degrees?", angles[missing], AnswerType.Integer,
            [$"known: {known[0]} and {known[1]}", $"{known[0]} + {known[1]} = {sum}", $"180 - {sum} = {angles[missing]}"],
            canvas.ToImage(), [angles.Max()], 5, ChoiceMin: 5);
    }
}
