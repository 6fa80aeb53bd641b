package gen

import (
	"strconv"
	"time"
)

// valueFunc appends a valid value of a column of row id to dst. No value
// contains a comma, a quote or a line break, so rows are written unquoted.
type valueFunc func(g *fileGen, id int64, dst []byte) []byte

// columnValues maps "table.column" to the generator of its valid values.
var columnValues = map[string]valueFunc{
	"departments.id":                appendID,
	"departments.department":        appendDepartment,
	"jobs.id":                       appendID,
	"jobs.job":                      appendJob,
	"hired_employees.id":            appendID,
	"hired_employees.name":          appendPersonName,
	"hired_employees.datetime":      appendHireTime,
	"hired_employees.department_id": appendDepartmentID,
	"hired_employees.job_id":        appendJobID,
}

// appendID appends the row's id: rows are numbered 1, 2, ... in file order.
func appendID(_ *fileGen, id int64, dst []byte) []byte {
	return strconv.AppendInt(dst, id, 10)
}

var departmentNames = []string{
	"Finance", "Operations", "Customer Success", "Procurement", "Logistics",
	"Quality Assurance", "Data Science", "Information Security", "Facilities",
	"Public Relations", "Design", "Product", "Sales", "Engineering", "Legal",
	"Marketing", "People", "Support", "Research", "Learning and Development",
}

// appendDepartment appends a department name: the list in order, then the
// list again with a number (Finance 2, Operations 2, ...), so names are
// unique for any number of departments.
func appendDepartment(_ *fileGen, id int64, dst []byte) []byte {
	i := (id - 1) % int64(len(departmentNames))
	dst = append(dst, departmentNames[i]...)
	if round := (id-1)/int64(len(departmentNames)) + 1; round > 1 {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, round, 10)
	}
	return dst
}

var (
	jobPrefixes = []string{"", "", "", "Senior ", "Junior ", "Lead ", "Principal ", "Assistant ", "VP "}
	jobRoles    = []string{
		"Accountant", "Data Analyst", "Software Engineer", "Recruiter", "Account Manager",
		"Nurse", "Civil Engineer", "Financial Analyst", "Sales Representative",
		"Graphic Designer", "Payroll Specialist", "Systems Administrator", "Paralegal",
		"Statistician", "Technical Writer", "Research Scientist", "Project Manager",
		"Support Technician", "Marketing Coordinator", "Office Manager", "Geologist",
		"Quality Engineer", "Cost Estimator", "Web Developer", "Tax Advisor",
		"Pharmacist", "Librarian", "Security Analyst", "Business Analyst", "Auditor",
	}
	jobLevels = []string{"", "", "", " I", " II", " III", " IV"}
)

// appendJob appends a job title such as "Senior Data Analyst II".
func appendJob(g *fileGen, _ int64, dst []byte) []byte {
	dst = append(dst, pick(g, jobPrefixes)...)
	dst = append(dst, pick(g, jobRoles)...)
	return append(dst, pick(g, jobLevels)...)
}

var (
	givenNames = []string{
		"Ada", "Alan", "Amara", "Bruno", "Carmen", "Chen", "Dalia", "Diego", "Elif",
		"Emil", "Farah", "Felix", "Greta", "Hugo", "Ines", "Ivan", "Jana", "Jonas",
		"Kai", "Lena", "Luca", "Maya", "Mateo", "Nadia", "Nils", "Olga", "Omar",
		"Paula", "Pedro", "Rosa", "Ravi", "Sara", "Soren", "Tara", "Tomas", "Una",
		"Vera", "Victor", "Wanda", "Yusuf", "Zoe",
	}
	surnameStarts = []string{
		"Ber", "Dal", "Fen", "Gar", "Hol", "Kas", "Lin", "Mor", "Nov", "Ost",
		"Pel", "Quin", "Rad", "Sor", "Tam", "Vel", "Wil", "Yar", "Zan", "Cor",
	}
	surnameMiddles = []string{"", "", "", "a", "e", "i", "o", "en", "ar", "ul"}
	surnameEnds    = []string{
		"gren", "man", "son", "ford", "ley", "ton", "stead", "wick", "ez", "ini",
		"ova", "sky", "berg", "dott", "ard", "ani",
	}
)

// appendPersonName appends a given name and a surname built from syllables.
func appendPersonName(g *fileGen, _ int64, dst []byte) []byte {
	dst = append(dst, pick(g, givenNames)...)
	dst = append(dst, ' ')
	dst = append(dst, pick(g, surnameStarts)...)
	dst = append(dst, pick(g, surnameMiddles)...)
	return append(dst, pick(g, surnameEnds)...)
}

var (
	year2021 = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	year2022 = time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	year2023 = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
)

// share2021 is the share of hires in 2021, about as in the real data.
const share2021 = 0.85

// hireTime returns a second of 2021 or, less often, of 2022.
func hireTime(g *fileGen) time.Time {
	from, to := year2022, year2023
	if g.rng.Float64() < share2021 {
		from, to = year2021, year2022
	}
	return time.Unix(from+g.rng.Int64N(to-from), 0).UTC()
}

// appendHireTime appends a hire time as YYYY-MM-DDTHH:MM:SSZ.
func appendHireTime(g *fileGen, _ int64, dst []byte) []byte {
	return hireTime(g).AppendFormat(dst, time.RFC3339)
}

func appendDepartmentID(g *fileGen, _ int64, dst []byte) []byte {
	return strconv.AppendInt(dst, 1+g.rng.Int64N(g.opts.Departments), 10)
}

func appendJobID(g *fileGen, _ int64, dst []byte) []byte {
	return strconv.AppendInt(dst, 1+g.rng.Int64N(g.opts.Jobs), 10)
}

// pick returns a random element of list.
func pick(g *fileGen, list []string) string {
	return list[g.rng.IntN(len(list))]
}
