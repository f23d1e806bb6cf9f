using MMEureka.Rewards;

namespace MMEureka.Data.Families;

/// <summary>High-school algebra: the slope of a line through two dots on a square grid, as a fraction in lowest terms.</summary>
internal static class Slope
{
    public static readonly FamilyInfo Info = new("slope", "algebra", "high",
        "max(|rise|, run) in grid squares", (1, 3), (4, 6), Generate);

    const int GridCells = 7, Cell = 6, Origin = 3;

    static Draft Generate(Rng rng, bool ood)
    {
        int rise, run;
        do
        {
            run = ood ? rng.Int(1, 6) : rng.Int(1, 3);
            rise = (ood ? rng.Int(1, 6) : rng.Int(1, 3)) * (rng.Next(2) == 0 ? 1 : -1);
        } while (ood && Math.Max(Math.Abs(rise), run) < 4);
        int x1 = rng.Int(0, GridCells - run), y1 = rng.Int(Math.Max(0, -rise), Math.Min(GridCells, GridCells - rise));
        int x2 = x1 + run, y2 = y1 + rise;
        static (int X, int Y) Px(int x, int y) => (Origin + Cell * x, Origin + Cell * (GridCells - y));
        var canvas = new Rasterizer();
        for (int i = 0; i <= GridCells; i++)
        {
            canvas.Line(Origin + Cell * i, Origin, Origin + Cell * i, Origin + Cell * GridCells, Palette.Light);
            canvas.Line(Origin, Origin + Cell * i, Origin + Cell * GridCells, Origin + Cell * i, Palette.Light);
        }
        var (p, q) = (Px(x1, y1), Px(x2, y2));
        canvas.Line(p.X, p.Y, q.X, q.Y, Palette.Named[1].Color);
        canvas.FillCircle(p.X, p.Y, 1.5, Palette.Named[0].Color);
        canvas.FillCircle(q.X, q.Y, 1.5, Palette.Named[0].Color);
        var value = new Rational(rise, run);
        string raw = $"{rise}/{run}";
        return new Draft("What is the slope of the line?", value, AnswerType.Fraction,
            [$"rise: {rise}", $"run: {run}", value.ToString() == raw ? $"slope = {raw}" : $"slope = {raw} = {value}"],
            canvas.ToImage(), [Math.Max(Math.Abs(rise), run)], new Rational(1, run));
    }
}
