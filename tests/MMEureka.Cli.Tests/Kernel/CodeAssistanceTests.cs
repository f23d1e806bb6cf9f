using MMEureka.Cli.Kernel;
using MMEureka.Cli.Notebooks;

namespace MMEureka.Cli.Tests.Kernel;

public class CodeAssistanceTests
{
    [Theory]
    [InlineData("abc", 2, 2)]
    [InlineData("a😀b", 2, 3)]   // the emoji is one code point, two UTF-16 units
    [InlineData("😀😀x", 2, 4)]
    [InlineData("ab", 9, 2)]     // clamped
    public void CursorPositionsCountCodePoints(string text, int codePoints, int utf16)
    {
        Assert.Equal(utf16, CodeAssistance.Utf16Index(text, codePoints));
        if (codePoints <= text.Length) Assert.Equal(codePoints, CodeAssistance.CodePointIndex(text, utf16));
    }

    [Fact]
    public void CheckpointsGoAtEveryLoopHeadWithoutMovingLines()
    {
        var code = "for (int i = 0; i < 3; i++)\n{\n  x++;\n}\nwhile (c) y++;\nforeach (var v in xs) for (;;) z++;\ndo { } while (d);";
        var rewritten = CellSession.WithCheckpoints(code);
        Assert.Equal(code.Split('\n').Length, rewritten.Split('\n').Length);
        Assert.Equal(5, System.Text.RegularExpressions.Regex.Matches(rewritten, "CellSession\\.Checkpoint\\(\\);").Count);
        Assert.Contains("while (c) {global::MMEureka.Cli.Notebooks.CellSession.Checkpoint();y++;}", rewritten);
        Assert.Equal("var a = 1;", CellSession.WithCheckpoints("var a = 1;"));
    }
}
