using System.Collections;
using System.Reflection;
using System.Text;

namespace MMEureka.Display;

/// <summary>
/// An HTML table from rows of records or objects (public properties and fields become columns), from dictionaries
/// (keys become columns, in first-seen order), or from named metric series. Numbers are formatted compactly
/// (<see cref="HtmlText.Number"/>); every text is escaped; a cell holding an <see cref="IHtmlView"/> embeds it.
/// </summary>
[TypeFormatterSource(typeof(HtmlFormatterSource))]
public sealed class HtmlTable : IHtmlView
{
    /// <summary>Creates a table from column names and rows of values (each row as long as the header).</summary>
    public HtmlTable(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<object?>> rows, int maxRows = 100, string? title = null)
    {
        if (maxRows < 1) throw new ArgumentOutOfRangeException(nameof(maxRows), maxRows, "maxRows must be at least 1");
        for (int r = 0; r < rows.Count; r++)
            if (rows[r].Count != columns.Count)
                throw new ArgumentException($"HtmlTable: row {r} has {rows[r].Count} cells but there are {columns.Count} columns");
        Columns = columns;
        Rows = rows;
        MaxRows = maxRows;
        Title = title;
    }

    /// <summary>Column headers.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>All rows (only the first <see cref="MaxRows"/> are rendered).</summary>
    public IReadOnlyList<IReadOnlyList<object?>> Rows { get; }

    /// <summary>Rows rendered before the "… more rows" line.</summary>
    public int MaxRows { get; }

    /// <summary>Optional caption.</summary>
    public string? Title { get; }

    /// <summary>
    /// Rows of objects: records, classes or anonymous objects give a column per public property and field;
    /// dictionaries (any <see cref="IDictionary"/>) give a column per key.
    /// </summary>
    public static HtmlTable From<T>(IEnumerable<T> items, int maxRows = 100, string? title = null)
    {
        var list = items.Cast<object?>().ToList();
        if (list.FirstOrDefault(x => x is not null) is IDictionary)
        {
            var columns = new List<string>();
            foreach (IDictionary? d in list)
                if (d is not null)
                    foreach (var key in d.Keys)
                        if (!columns.Contains(key.ToString()!)) columns.Add(key.ToString()!);
            var dictRows = list.Select(x => (IReadOnlyList<object?>)columns.Select(c => x is IDictionary d && d.Contains(c) ? d[c] : null).ToArray()).ToArray();
            return new HtmlTable(columns, dictRows, maxRows, title);
        }
        var type = typeof(T) != typeof(object) ? typeof(T) : list.FirstOrDefault(x => x is not null)?.GetType() ?? typeof(object);
        var members = type.GetMembers(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m is FieldInfo || m is PropertyInfo { CanRead: true } p && p.GetIndexParameters().Length == 0)
            .OrderBy(m => m.MetadataToken)
            .ToArray();
        var rows = list.Select(x => (IReadOnlyList<object?>)members.Select(m => x is null ? null : Read(m, x)).ToArray()).ToArray();
        return new HtmlTable(members.Select(m => m.Name).ToArray(), rows, maxRows, title);
    }

    /// <summary>A metrics table: an index column (e.g. "step") and one column per named series, row by row.</summary>
    public static HtmlTable FromSeries(string indexName, Numbers index, params (string Name, Numbers Values)[] series)
    {
        foreach (var (name, values) in series)
            if (values.Count != index.Count)
                throw new ArgumentException($"HtmlTable.FromSeries: series '{name}' has {values.Count} values but {indexName} has {index.Count}");
        var columns = new[] { indexName }.Concat(series.Select(s => s.Name)).ToArray();
        var rows = Enumerable.Range(0, index.Count)
            .Select(r => (IReadOnlyList<object?>)new object?[] { index.Values[r] }.Concat(series.Select(s => (object?)s.Values.Values[r])).ToArray())
            .ToArray();
        return new HtmlTable(columns, rows);
    }

    static object? Read(MemberInfo member, object target) => member switch
    {
        FieldInfo f => f.GetValue(target),
        PropertyInfo p => p.GetValue(target),
        _ => null,
    };

    /// <inheritdoc/>
    public string ToHtml()
    {
        var sb = new StringBuilder();
        sb.Append("<table class=\"mmeureka-table\" style=\"border-collapse:collapse;font-size:13px\">");
        if (Title is not null) sb.Append("<caption style=\"font-weight:bold;text-align:left\">").Append(HtmlText.Escape(Title)).Append("</caption>");
        sb.Append("<thead><tr>");
        foreach (var c in Columns) sb.Append("<th style=\"border-bottom:1px solid #999;padding:2px 8px;text-align:left\">").Append(HtmlText.Escape(c)).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        foreach (var row in Rows.Take(MaxRows))
        {
            sb.Append("<tr>");
            foreach (var v in row)
            {
                sb.Append(HtmlText.IsNumeric(v) ? "<td style=\"padding:2px 8px;text-align:right\">" : "<td style=\"padding:2px 8px\">");
                sb.Append(v is IHtmlView view ? view.ToHtml() : HtmlText.Escape(HtmlText.Value(v)));
                sb.Append("</td>");
            }
            sb.Append("</tr>");
        }
        if (Rows.Count > MaxRows)
            sb.Append($"<tr><td colspan=\"{Columns.Count}\" style=\"padding:2px 8px;color:#666\">… {Rows.Count - MaxRows} more rows</td></tr>");
        sb.Append("</tbody></table>");
        return sb.ToString();
    }

    /// <summary>Tab-separated text for text-only hosts (first <see cref="MaxRows"/> rows).</summary>
    public override string ToString()
    {
        var lines = new List<string> { string.Join('\t', Columns) };
        lines.AddRange(Rows.Take(MaxRows).Select(r => string.Join('\t', r.Select(HtmlText.Value))));
        if (Rows.Count > MaxRows) lines.Add($"… {Rows.Count - MaxRows} more rows");
        return string.Join('\n', lines);
    }
}
