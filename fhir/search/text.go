package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// foldText returns s lower-cased and with the accents of Latin letters
// removed, so that string search is case- and accent-insensitive as the R4
// spec asks ("Zoë" finds "zoe"). The standard library has no Unicode
// normalisation, so accents are stripped with a table of the Latin-1 and
// Latin Extended-A letters, which covers the Western European names this
// server expects; other scripts are only lower-cased.
func foldText(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || ('A' <= s[i] && s[i] <= 'Z') {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r = unicode.ToLower(r)
		if r >= 0xC0 && r < 0xC0+rune(len(latinFold)) {
			if f := latinFold[r-0xC0]; f != ' ' {
				b.WriteByte(f)
				continue
			}
			switch r {
			case 'ß':
				b.WriteString("ss")
				continue
			case 'æ':
				b.WriteString("ae")
				continue
			case 'œ':
				b.WriteString("oe")
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// latinFold maps U+00C0..U+017F to the base letter (lower case), or ' '
// where there is none (×, ÷) or a digraph is needed (ß, æ, œ).
var latinFold = "" +
	"aaaaaa ceeeeiiii" + // U+00C0 ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏ
	"dnooooo ouuuuyt " + // U+00D0 ÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞß
	"aaaaaa ceeeeiiii" + // U+00E0 àáâãäåæçèéêëìíîï
	"dnooooo ouuuuyty" + // U+00F0 ðñòóôõö÷øùúûüýþÿ
	"aaaaaaccccccccdd" + // U+0100 ĀāĂăĄąĆćĈĉĊċČčĎď
	"ddeeeeeeeeeegggg" + // U+0110 ĐđĒēĔĕĖėĘęĚěĜĝĞğ
	"gggghhhhiiiiiiii" + // U+0120 ĠġĢģĤĥĦħĨĩĪīĬĭĮį
	"iiiijjkkklllllll" + // U+0130 İıĲĳĴĵĶķĸĹĺĻļĽľĿ
	"lllnnnnnnnnnoooo" + // U+0140 ŀŁłŃńŅņŇňŉŊŋŌōŎŏ
	"oo  rrrrrrssssss" + // U+0150 ŐőŒœŔŕŖŗŘřŚśŜŝŞş
	"sstttttttuuuuuuu" + // U+0160 ŠšŢţŤťŦŧŨũŪūŬŭŮů
	"uuuuwwyyyzzzzzzs" //   U+0170 ŰűŲųŴŵŶŷŸŹźŻżŽžſ
