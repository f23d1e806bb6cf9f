using System.Reflection;
using MMEureka.Display;

namespace MMEureka.Tests.Display;

/// <summary>
/// Formats values the way .NET Interactive's convention does, by reflection and names only: find an attribute
/// named TypeFormatterSourceAttribute, read FormatterSourceType, construct it, call CreateTypeFormatters, pick the
/// formatter whose MimeType is text/html and call Format(instance, writer).
/// </summary>
public class FormatterConventionTests
{
    static string? FormatByConvention(object value, string mimeType)
    {
        var attribute = value.GetType().GetCustomAttributes(inherit: true)
            .FirstOrDefault(a => a.GetType().Name == "TypeFormatterSourceAttribute");
        if (attribute is null) return null;
        var sourceType = (Type)attribute.GetType().GetProperty("FormatterSourceType")!.GetValue(attribute)!;
        var source = Activator.CreateInstance(sourceType)!;
        var formatters = (IEnumerable<object>)sourceType.GetMethod("CreateTypeFormatters", BindingFlags.Public | BindingFlags.Instance)!.Invoke(source, null)!;
        foreach (var f in formatters)
        {
            if ((string?)f.GetType().GetProperty("MimeType")!.GetValue(f) != mimeType) continue;
            using var writer = new StringWriter();
            var ok = (bool)f.GetType().GetMethod("Format", [typeof(object), typeof(TextWriter)])!.Invoke(f, [value, writer])!;
            return ok ? writer.ToString() : null;
        }
        return null;
    }

    public static TheoryData<string> Views => new() { "image", "table", "html" };

    static IHtmlView Make(string kind) => kind switch
    {
        "image" => new ImageView(RasterImage.Filled(2, 2, 1, 2, 3)),
        "table" => HtmlTable.From(new[] { new { a = 1 } }),
        _ => new Html("<b>x</b>"),
    };

    [Theory]
    [MemberData(nameof(Views))]
    public void HtmlComesFromTheConventionAndMatchesToHtml(string kind)
    {
        var view = Make(kind);
        var html = FormatByConvention(view, "text/html");
        Assert.NotNull(html);
        Assert.Equal(view.ToHtml(), html);
        Assert.Equal(view.ToString(), FormatByConvention(view, "text/plain"));
    }

    [Fact]
    public void EveryPublicViewTypeCarriesTheAttributeWithHtmlPreferred()
    {
        var views = typeof(IHtmlView).Assembly.GetExportedTypes()
            .Where(t => typeof(IHtmlView).IsAssignableFrom(t) && !t.IsInterface && !t.IsAbstract).ToArray();
        Assert.Contains(typeof(ImageView), views);
        Assert.Contains(typeof(HtmlTable), views);
        foreach (var t in views)
        {
            var attribute = t.GetCustomAttributes(false).SingleOrDefault(a => a.GetType().Name == "TypeFormatterSourceAttribute");
            Assert.True(attribute is not null, $"{t.Name} lacks [TypeFormatterSource]");
            var preferred = (string[]?)attribute!.GetType().GetProperty("PreferredMimeTypes")!.GetValue(attribute);
            Assert.Equal(["text/html"], preferred);
        }
    }

    [Fact]
    public void FormatterDeclinesOtherTypes() => Assert.Null(FormatByConvention(new FakeView(), "text/html"));

    // Carries the attribute but is not an IHtmlView: the formatter must say false rather than write garbage.
    [TypeFormatterSource(typeof(HtmlFormatterSource))]
    sealed class FakeView;
}
