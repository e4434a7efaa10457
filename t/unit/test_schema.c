
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * JSON Schema keywords, one valid and one invalid instance (at least) for
 * each, in both dialects where they differ.  Cases are written for this
 * validator; none is copied from an external suite.
 */


#include "unit.h"
#include "fixture.h"

#include "lg_schema.h"


typedef struct {
    const char  *schema;
    const char  *instance;
    int          valid;
} lg_case_t;


#define D7 "\"$schema\": \"http://json-schema.org/draft-07/schema#\", "


static const lg_case_t  cases[] = {

    /* booleans as schemas */
    { "true", "{\"a\": 1}", 1 },
    { "false", "null", 0 },
    { "{\"properties\": {\"a\": false}}", "{\"b\": 1}", 1 },
    { "{\"properties\": {\"a\": false}}", "{\"a\": 1}", 0 },

    /* type */
    { "{\"type\": \"string\"}", "\"x\"", 1 },
    { "{\"type\": \"string\"}", "1", 0 },
    { "{\"type\": \"integer\"}", "1", 1 },
    { "{\"type\": \"integer\"}", "1.0", 1 },
    { "{\"type\": \"integer\"}", "1.5", 0 },
    { "{\"type\": \"integer\"}", "1e300", 1 },
    { "{\"type\": \"number\"}", "-0.5", 1 },
    { "{\"type\": \"number\"}", "\"1\"", 0 },
    { "{\"type\": \"null\"}", "null", 1 },
    { "{\"type\": \"null\"}", "false", 0 },
    { "{\"type\": \"boolean\"}", "false", 1 },
    { "{\"type\": \"boolean\"}", "0", 0 },
    { "{\"type\": \"object\"}", "{}", 1 },
    { "{\"type\": \"object\"}", "[]", 0 },
    { "{\"type\": \"array\"}", "[]", 1 },
    { "{\"type\": \"array\"}", "{}", 0 },
    { "{\"type\": [\"string\", \"null\"]}", "null", 1 },
    { "{\"type\": [\"string\", \"null\"]}", "2", 0 },

    /* enum and const: deep, mathematical equality */
    { "{\"enum\": [1, \"a\", [1, {\"b\": null}]]}", "1.0", 1 },
    { "{\"enum\": [1, \"a\", [1, {\"b\": null}]]}", "[1.0, {\"b\": null}]",
      1 },
    { "{\"enum\": [1, \"a\", [1, {\"b\": null}]]}", "[1, {\"b\": false}]",
      0 },
    { "{\"enum\": [false]}", "0", 0 },
    { "{\"enum\": [0]}", "false", 0 },
    { "{\"enum\": [\"a\\u0000b\"]}", "\"a\\u0000b\"", 1 },
    { "{\"enum\": [\"a\\u0000b\"]}", "\"a\\u0000c\"", 0 },
    { "{\"const\": {\"a\": 1, \"b\": [2]}}", "{\"b\": [2.0], \"a\": 1}", 1 },
    { "{\"const\": {\"a\": 1, \"b\": [2]}}", "{\"a\": 1, \"b\": [2], "
      "\"c\": 0}", 0 },
    { "{\"const\": null}", "null", 1 },
    { "{\"const\": null}", "0", 0 },
    { "{\"const\": 9007199254740993}", "9007199254740993", 1 },
    { "{\"const\": 9007199254740993}", "9007199254740992", 0 },

    /* numbers */
    { "{\"minimum\": 1.5}", "1.5", 1 },
    { "{\"minimum\": 1.5}", "1", 0 },
    { "{\"minimum\": 1.5}", "\"a\"", 1 },
    { "{\"maximum\": 3}", "3.0", 1 },
    { "{\"maximum\": 3}", "3.0000001", 0 },
    { "{\"exclusiveMinimum\": 0}", "0.0001", 1 },
    { "{\"exclusiveMinimum\": 0}", "0", 0 },
    { "{\"exclusiveMaximum\": 10}", "9", 1 },
    { "{\"exclusiveMaximum\": 10}", "10.0", 0 },
    { "{\"maximum\": 9223372036854775807}", "9223372036854775807", 1 },
    { "{\"maximum\": 9223372036854775806}", "9223372036854775807", 0 },
    { "{\"maximum\": 9223372036854775807}", "1e19", 0 },
    { "{\"minimum\": -9223372036854775807}", "-1e19", 0 },
    { "{\"multipleOf\": 2}", "10", 1 },
    { "{\"multipleOf\": 2}", "7", 0 },
    { "{\"multipleOf\": 1.5}", "4.5", 1 },
    { "{\"multipleOf\": 1.5}", "35", 0 },
    { "{\"multipleOf\": 0.01}", "19.99", 1 },
    { "{\"multipleOf\": 0.0001}", "0.0075", 1 },
    { "{\"multipleOf\": 0.0001}", "0.00751", 0 },
    { "{\"multipleOf\": 2.0}", "4", 1 },
    { "{\"type\": \"integer\", \"multipleOf\": 0.123456789}", "1e308", 0 },
    { "{\"multipleOf\": 1e-8}", "12391239123", 1 },

    /* strings, counted in code points */
    { "{\"minLength\": 2}", "\"ab\"", 1 },
    { "{\"minLength\": 2}", "\"a\"", 0 },
    { "{\"minLength\": 2}", "\"\\u00e9\"", 0 },
    { "{\"maxLength\": 2}", "\"\\u00e9\\u00e9\"", 1 },
    { "{\"maxLength\": 2}", "\"\xf0\x9f\x93\xa6\xf0\x9f\x93\xa6\"", 1 },
    { "{\"maxLength\": 2}", "\"abc\"", 0 },
    { "{\"maxLength\": 2.0}", "\"abc\"", 0 },
    { "{\"maxLength\": 3}", "\"a\\u0000b\"", 1 },
    { "{\"maxLength\": 2}", "\"a\\u0000b\"", 0 },
    { "{\"pattern\": \"^[A-Z]{2}$\"}", "\"FR\"", 1 },
    { "{\"pattern\": \"^[A-Z]{2}$\"}", "\"FR\\n\"", 0 },
    { "{\"pattern\": \"^[A-Z]{2}$\"}", "\"fr\"", 0 },
    { "{\"pattern\": \"b\"}", "\"abc\"", 1 },
    { "{\"pattern\": \"b\"}", "3", 1 },
    { "{\"pattern\": \"^\\\\p{Lu}\"}", "\"\\u00c9t\\u00e9\"", 1 },
    { "{\"pattern\": \"^\\\\d+$\"}", "\"\\u0661\"", 0 },
    { "{\"pattern\": \"^a\\\\u0062$\"}", "\"ab\"", 1 },
    /* ECMA-262's long General_Category names, which PCRE2 lacks */
    { "{\"pattern\": \"^\\\\p{Letter}+$\"}", "\"h\u00e9llo\"", 1 },
    { "{\"pattern\": \"^\\\\p{Letter}+$\"}", "\"h3llo\"", 0 },
    { "{\"pattern\": \"^\\\\p{General_Category=Decimal_Number}$\"}",
      "\"7\"", 1 },
    { "{\"pattern\": \"^\\\\p{gc=Lu}\\\\P{Letter}$\"}", "\"A1\"", 1 },
    { "{\"pattern\": \"^[\\\\p{Cased_Letter}\\\\p{Nd}]+$\"}", "\"aZ9\"", 1 },
    { "{\"pattern\": \"^\\\\p{Script=Greek}+$\"}", "\"\u03b1\u03b2\"", 1 },
    /* an escaped backslash is not a property */
    { "{\"pattern\": \"^\\\\\\\\p{Letter}$\"}", "\"\\\\p{Letter}\"", 1 },
    { "{\"format\": \"date\"}", "\"not a date\"", 1 },

    /* arrays */
    { "{\"items\": {\"type\": \"integer\"}}", "[1, 2]", 1 },
    { "{\"items\": {\"type\": \"integer\"}}", "[1, \"2\"]", 0 },
    { "{\"items\": false}", "[]", 1 },
    { "{\"items\": false}", "[1]", 0 },
    { "{\"prefixItems\": [{\"type\": \"string\"}, {\"type\": \"integer\"}]}",
      "[\"a\", 1, null]", 1 },
    { "{\"prefixItems\": [{\"type\": \"string\"}, {\"type\": \"integer\"}]}",
      "[1]", 0 },
    { "{\"prefixItems\": [{}], \"items\": false}", "[1]", 1 },
    { "{\"prefixItems\": [{}], \"items\": false}", "[1, 2]", 0 },
    { "{\"contains\": {\"const\": 3}}", "[1, 3]", 1 },
    { "{\"contains\": {\"const\": 3}}", "[1, 2]", 0 },
    { "{\"contains\": {\"const\": 3}}", "[]", 0 },
    { "{\"contains\": {\"const\": 3}}", "{}", 1 },
    { "{\"contains\": {\"const\": 1}, \"minContains\": 2}", "[1, 1, 2]", 1 },
    { "{\"contains\": {\"const\": 1}, \"minContains\": 2}", "[1, 2]", 0 },
    { "{\"contains\": {\"const\": 1}, \"maxContains\": 1}", "[1, 2]", 1 },
    { "{\"contains\": {\"const\": 1}, \"maxContains\": 1}", "[1, 1]", 0 },
    { "{\"contains\": {\"const\": 1}, \"minContains\": 0}", "[]", 1 },
    { "{\"maxContains\": 0}", "[1]", 1 },
    { "{\"minItems\": 1}", "[0]", 1 },
    { "{\"minItems\": 1}", "[]", 0 },
    { "{\"maxItems\": 1}", "[0]", 1 },
    { "{\"maxItems\": 1}", "[0, 1]", 0 },
    { "{\"uniqueItems\": true}", "[1, \"1\", [1], {\"a\": 1}, true]", 1 },
    { "{\"uniqueItems\": true}", "[1, 2, 1.0]", 0 },
    { "{\"uniqueItems\": true}", "[{\"a\": 1, \"b\": 2}, {\"b\": 2, "
      "\"a\": 1}]", 0 },
    { "{\"uniqueItems\": true}", "[[1], [true]]", 1 },
    { "{\"uniqueItems\": true}", "[0, false]", 1 },
    { "{\"uniqueItems\": false}", "[1, 1]", 1 },

    /* objects */
    { "{\"properties\": {\"a\": {\"type\": \"string\"}}}", "{\"a\": \"x\"}",
      1 },
    { "{\"properties\": {\"a\": {\"type\": \"string\"}}}", "{\"a\": 1}", 0 },
    { "{\"properties\": {\"a/b~c\": {\"type\": \"string\"}}}",
      "{\"a/b~c\": 1}", 0 },
    { "{\"patternProperties\": {\"^x-\": {\"type\": \"integer\"}}}",
      "{\"x-a\": 1, \"y\": \"s\"}", 1 },
    { "{\"patternProperties\": {\"^x-\": {\"type\": \"integer\"}}}",
      "{\"x-a\": \"s\"}", 0 },
    { "{\"properties\": {\"a\": {}}, \"patternProperties\": {\"^b\": {}}, "
      "\"additionalProperties\": false}", "{\"a\": 1, \"bc\": 2}", 1 },
    { "{\"properties\": {\"a\": {}}, \"patternProperties\": {\"^b\": {}}, "
      "\"additionalProperties\": false}", "{\"a\": 1, \"c\": 2}", 0 },
    { "{\"additionalProperties\": {\"type\": \"string\"}}",
      "{\"a\": \"b\"}", 1 },
    { "{\"additionalProperties\": {\"type\": \"string\"}}", "{\"a\": 1}", 0 },
    { "{\"required\": [\"a\", \"b\"]}", "{\"a\": 1, \"b\": 2}", 1 },
    { "{\"required\": [\"a\", \"b\"]}", "{\"a\": 1}", 0 },
    { "{\"required\": [\"a\"]}", "[]", 1 },
    { "{\"dependentRequired\": {\"a\": [\"b\"]}}", "{\"c\": 1}", 1 },
    { "{\"dependentRequired\": {\"a\": [\"b\"]}}", "{\"a\": 1, \"b\": 1}",
      1 },
    { "{\"dependentRequired\": {\"a\": [\"b\"]}}", "{\"a\": 1}", 0 },
    { "{\"dependentSchemas\": {\"a\": {\"required\": [\"b\"]}}}",
      "{\"b\": 1}", 1 },
    { "{\"dependentSchemas\": {\"a\": {\"required\": [\"b\"]}}}",
      "{\"a\": 1}", 0 },
    { "{\"propertyNames\": {\"maxLength\": 3}}", "{\"abc\": 1}", 1 },
    { "{\"propertyNames\": {\"maxLength\": 3}}", "{\"abcd\": 1}", 0 },
    { "{\"propertyNames\": false}", "{}", 1 },
    { "{\"minProperties\": 1}", "{\"a\": 1}", 1 },
    { "{\"minProperties\": 1}", "{}", 0 },
    { "{\"maxProperties\": 1}", "{\"a\": 1}", 1 },
    { "{\"maxProperties\": 1}", "{\"a\": 1, \"b\": 2}", 0 },

    /* combinators */
    { "{\"allOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]}", "3", 1 },
    { "{\"allOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]}", "1", 0 },
    { "{\"anyOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]}", "2.5", 1 },
    { "{\"anyOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]}", "1.5", 0 },
    { "{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]}", "1", 1 },
    { "{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]}", "3", 0 },
    { "{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]}", "1.5", 0 },
    { "{\"not\": {\"type\": \"string\"}}", "1", 1 },
    { "{\"not\": {\"type\": \"string\"}}", "\"a\"", 0 },
    { "{\"if\": {\"minimum\": 10}, \"then\": {\"multipleOf\": 5}, "
      "\"else\": {\"multipleOf\": 2}}", "15", 1 },
    { "{\"if\": {\"minimum\": 10}, \"then\": {\"multipleOf\": 5}, "
      "\"else\": {\"multipleOf\": 2}}", "12", 0 },
    { "{\"if\": {\"minimum\": 10}, \"then\": {\"multipleOf\": 5}, "
      "\"else\": {\"multipleOf\": 2}}", "4", 1 },
    { "{\"if\": {\"minimum\": 10}, \"then\": {\"multipleOf\": 5}, "
      "\"else\": {\"multipleOf\": 2}}", "3", 0 },
    { "{\"then\": false}", "3", 1 },

    /* references inside a document */
    { "{\"$defs\": {\"p\": {\"type\": \"integer\"}}, \"items\": "
      "{\"$ref\": \"#/$defs/p\"}}", "[1]", 1 },
    { "{\"$defs\": {\"p\": {\"type\": \"integer\"}}, \"items\": "
      "{\"$ref\": \"#/$defs/p\"}}", "[\"1\"]", 0 },
    { "{\"$defs\": {\"a%b\": {\"type\": \"integer\"}, \"c/d\": false}, "
      "\"properties\": {\"x\": {\"$ref\": \"#/$defs/a%25b\"}, "
      "\"y\": {\"$ref\": \"#/$defs/c~1d\"}}}", "{\"x\": 1}", 1 },
    { "{\"$defs\": {\"a%b\": {\"type\": \"integer\"}, \"c/d\": false}, "
      "\"properties\": {\"x\": {\"$ref\": \"#/$defs/a%25b\"}, "
      "\"y\": {\"$ref\": \"#/$defs/c~1d\"}}}", "{\"y\": 1}", 0 },
    { "{\"$defs\": {\"n\": {\"$anchor\": \"num\", \"type\": \"number\"}}, "
      "\"$ref\": \"#num\"}", "1", 1 },
    { "{\"$defs\": {\"n\": {\"$anchor\": \"num\", \"type\": \"number\"}}, "
      "\"$ref\": \"#num\"}", "\"1\"", 0 },
    { "{\"$ref\": \"#/$defs/a\", \"maximum\": 5, \"$defs\": {\"a\": "
      "{\"minimum\": 1}}}", "6", 0 },
    { "{\"$id\": \"urn:example:root\", \"$defs\": {\"inner\": "
      "{\"$id\": \"urn:example:inner\", \"type\": \"string\"}}, "
      "\"$ref\": \"urn:example:inner\"}", "1", 0 },
    { "{\"$id\": \"http://example.com/root.json\", \"$defs\": {\"b\": "
      "{\"$id\": \"other/b.json\", \"type\": \"boolean\"}}, "
      "\"$ref\": \"other/b.json\"}", "true", 1 },
    /* a tree: recursion through "#" */
    { "{\"type\": \"object\", \"properties\": {\"kids\": {\"type\": "
      "\"array\", \"items\": {\"$ref\": \"#\"}}, \"v\": {\"type\": "
      "\"integer\"}}}", "{\"kids\": [{\"kids\": [{\"v\": 1}]}]}", 1 },
    { "{\"type\": \"object\", \"properties\": {\"kids\": {\"type\": "
      "\"array\", \"items\": {\"$ref\": \"#\"}}, \"v\": {\"type\": "
      "\"integer\"}}}", "{\"kids\": [{\"kids\": [{\"v\": \"1\"}]}]}", 0 },
    /* "$id" inside "const" is data */
    { "{\"$defs\": {\"d\": {\"const\": {\"$id\": \"urn:x\"}}}, "
      "\"$ref\": \"#/$defs/d\"}", "{\"$id\": \"urn:x\"}", 1 },

    /* $dynamicRef: an extensible list whose items the caller narrows */
    { "{\"$id\": \"urn:list\", \"$dynamicAnchor\": \"item\", "
      "\"$defs\": {\"list\": {\"type\": \"array\", \"items\": "
      "{\"$dynamicRef\": \"#item\"}}}, \"$ref\": \"#/$defs/list\"}",
      "[[], [[]]]", 1 },
    { "{\"$id\": \"urn:list\", \"$dynamicAnchor\": \"item\", "
      "\"$defs\": {\"list\": {\"type\": \"array\", \"items\": "
      "{\"$dynamicRef\": \"#item\"}}}, \"$ref\": \"#/$defs/list\"}",
      "[[], [1]]", 0 },
    { "{\"$id\": \"urn:strings\", \"$ref\": \"urn:generic\", "
      "\"$defs\": {\"s\": {\"$dynamicAnchor\": \"item\", \"type\": "
      "\"string\"}, \"generic\": {\"$id\": \"urn:generic\", "
      "\"type\": \"array\", \"items\": {\"$dynamicRef\": \"#item\"}, "
      "\"$defs\": {\"any\": {\"$dynamicAnchor\": \"item\"}}}}}",
      "[\"a\", \"b\"]", 1 },
    { "{\"$id\": \"urn:strings\", \"$ref\": \"urn:generic\", "
      "\"$defs\": {\"s\": {\"$dynamicAnchor\": \"item\", \"type\": "
      "\"string\"}, \"generic\": {\"$id\": \"urn:generic\", "
      "\"type\": \"array\", \"items\": {\"$dynamicRef\": \"#item\"}, "
      "\"$defs\": {\"any\": {\"$dynamicAnchor\": \"item\"}}}}}",
      "[\"a\", 2]", 0 },

    /* unevaluatedProperties / unevaluatedItems */
    { "{\"properties\": {\"a\": {}}, \"unevaluatedProperties\": false}",
      "{\"a\": 1}", 1 },
    { "{\"properties\": {\"a\": {}}, \"unevaluatedProperties\": false}",
      "{\"a\": 1, \"b\": 2}", 0 },
    { "{\"allOf\": [{\"properties\": {\"a\": {}}}], "
      "\"unevaluatedProperties\": false}", "{\"a\": 1}", 1 },
    { "{\"allOf\": [{\"properties\": {\"a\": {}}}], "
      "\"additionalProperties\": false}", "{\"a\": 1}", 0 },
    { "{\"anyOf\": [{\"properties\": {\"a\": {\"const\": 1}}}, "
      "{\"properties\": {\"b\": {}}}], \"unevaluatedProperties\": false}",
      "{\"a\": 1, \"b\": 2}", 1 },
    { "{\"anyOf\": [{\"properties\": {\"a\": {\"const\": 1}}, "
      "\"required\": [\"a\"]}, {\"properties\": {\"b\": {}}, "
      "\"required\": [\"b\"]}], \"unevaluatedProperties\": false}",
      "{\"a\": 2, \"b\": 2}", 0 },
    { "{\"if\": {\"properties\": {\"k\": {\"const\": \"x\"}}}, "
      "\"then\": {\"properties\": {\"x\": {}}}, \"else\": {\"properties\": "
      "{\"y\": {}}}, \"unevaluatedProperties\": false}",
      "{\"k\": \"x\", \"x\": 1}", 1 },
    { "{\"if\": {\"properties\": {\"k\": {\"const\": \"x\"}}}, "
      "\"then\": {\"properties\": {\"x\": {}}}, \"else\": {\"properties\": "
      "{\"y\": {}}}, \"unevaluatedProperties\": false}",
      "{\"k\": \"z\", \"x\": 1}", 0 },
    { "{\"not\": {\"not\": {\"properties\": {\"a\": {}}}}, "
      "\"unevaluatedProperties\": false}", "{\"a\": 1}", 0 },
    { "{\"$ref\": \"#/$defs/b\", \"unevaluatedProperties\": false, "
      "\"$defs\": {\"b\": {\"properties\": {\"a\": {}}}}}", "{\"a\": 1}", 1 },
    { "{\"unevaluatedProperties\": {\"type\": \"integer\"}}",
      "{\"a\": 1}", 1 },
    { "{\"unevaluatedProperties\": {\"type\": \"integer\"}}",
      "{\"a\": \"1\"}", 0 },
    { "{\"properties\": {\"a\": {\"properties\": {\"b\": {}}}}, "
      "\"unevaluatedProperties\": false}", "{\"a\": {\"c\": 1}}", 1 },
    { "{\"prefixItems\": [{}], \"unevaluatedItems\": false}", "[1]", 1 },
    { "{\"prefixItems\": [{}], \"unevaluatedItems\": false}", "[1, 2]", 0 },
    { "{\"allOf\": [{\"prefixItems\": [{}, {}]}], "
      "\"unevaluatedItems\": false}", "[1, 2]", 1 },
    { "{\"contains\": {\"const\": 1}, \"unevaluatedItems\": false}",
      "[1, 1]", 1 },
    { "{\"contains\": {\"const\": 1}, \"unevaluatedItems\": false}",
      "[1, 2]", 0 },
    { "{\"items\": {}, \"unevaluatedItems\": false}", "[1, 2]", 1 },
    { "{\"unevaluatedItems\": {\"type\": \"string\"}}", "[\"a\", 1]", 0 },

    /* draft-07 */
    { "{" D7 "\"items\": [{\"type\": \"string\"}], \"additionalItems\": "
      "false}", "[\"a\"]", 1 },
    { "{" D7 "\"items\": [{\"type\": \"string\"}], \"additionalItems\": "
      "false}", "[\"a\", 1]", 0 },
    { "{" D7 "\"items\": [{\"type\": \"string\"}]}", "[1]", 0 },
    { "{" D7 "\"items\": {\"type\": \"string\"}, \"additionalItems\": "
      "false}", "[\"a\", \"b\"]", 1 },
    { "{" D7 "\"dependencies\": {\"a\": [\"b\"], \"c\": {\"required\": "
      "[\"d\"]}}}", "{\"a\": 1, \"b\": 1, \"c\": 1, \"d\": 1}", 1 },
    { "{" D7 "\"dependencies\": {\"a\": [\"b\"], \"c\": {\"required\": "
      "[\"d\"]}}}", "{\"a\": 1}", 0 },
    { "{" D7 "\"dependencies\": {\"a\": [\"b\"], \"c\": {\"required\": "
      "[\"d\"]}}}", "{\"c\": 1}", 0 },
    { "{" D7 "\"definitions\": {\"s\": {\"type\": \"string\"}}, "
      "\"properties\": {\"a\": {\"$ref\": \"#/definitions/s\"}}}",
      "{\"a\": 1}", 0 },
    /* draft-07: siblings of $ref are ignored */
    { "{" D7 "\"definitions\": {\"s\": {\"type\": \"string\"}}, "
      "\"properties\": {\"a\": {\"$ref\": \"#/definitions/s\", "
      "\"maxLength\": 1}}}", "{\"a\": \"long\"}", 1 },
    { "{" D7 "\"definitions\": {\"s\": {\"$id\": \"#str\", \"type\": "
      "\"string\"}}, \"$ref\": \"#str\"}", "1", 0 },
    /* draft-07: "$id" "uri#name" is a resource and a plain-name anchor */
    { "{" D7 "\"allOf\": [{\"$ref\": \"urn:x:a#n\"}], \"definitions\": "
      "{\"n\": {\"$id\": \"urn:x:a#n\", \"type\": \"integer\"}}}",
      "1", 1 },
    { "{" D7 "\"allOf\": [{\"$ref\": \"urn:x:a#n\"}], \"definitions\": "
      "{\"n\": {\"$id\": \"urn:x:a#n\", \"type\": \"integer\"}}}",
      "\"s\"", 0 },
    { "{" D7 "\"$ref\": \"urn:x:a\", \"definitions\": "
      "{\"n\": {\"$id\": \"urn:x:a#n\", \"type\": \"integer\"}}}",
      "\"s\"", 0 },
    /* draft-07 knows no unevaluatedProperties nor prefixItems */
    { "{" D7 "\"unevaluatedProperties\": false}", "{\"a\": 1}", 1 },
    { "{" D7 "\"prefixItems\": [false]}", "[1]", 1 },

    { NULL, NULL, 0 }
};


static const char  *dir;
static int          ncompiled;


static int
run(const char *schema_text, const char *instance, int format_assertion,
    lg_schema_result_t *res, lg_arena_t *rarena, lg_error_t *err)
{
    int                   rc;
    char                  name[64];
    json_t               *inst;
    const char           *file;
    lg_arena_t            arena = { NULL };
    lg_schema_t          *schema;
    lg_schema_options_t   opts;

    memset(&opts, 0, sizeof(opts));
    opts.format_assertion = format_assertion;

    snprintf(name, sizeof(name), "s%d.json", ncompiled++);
    file = lg_fixture_write(dir, name, schema_text);

    schema = lg_schema_compile_file(&arena, file, &opts, err);
    if (schema == NULL) {
        lg_arena_free(&arena);
        return -2;
    }

    inst = lg_schema_parse_body(instance, strlen(instance), err);
    if (inst == NULL) {
        lg_arena_free(&arena);
        return -3;
    }

    memset(res, 0, sizeof(lg_schema_result_t));
    res->max_errors = 10;
    res->arena = rarena;

    rc = lg_schema_validate(schema, inst, res);

    json_decref(inst);
    lg_arena_free(&arena);

    return rc;
}


static int
check(const char *schema, const char *instance)
{
    int                  rc;
    lg_error_t           err;
    lg_arena_t           rarena = { NULL };
    lg_schema_result_t   res;

    rc = run(schema, instance, 0, &res, &rarena, &err);

    if (rc == -2 || rc == -3) {
        printf("# %s\n", err.text);
    }

    lg_arena_free(&rarena);

    return rc;
}


int
main(void)
{
    int        rc;
    const lg_case_t  *c;

    dir = lg_fixture_dir();

    for (c = cases; c->schema != NULL; c++) {
        rc = check(c->schema, c->instance);

        if (!ok(rc == (c->valid ? 0 : 1), "%s %s %s", c->schema,
                c->valid ? "accepts" : "rejects", c->instance))
        {
            printf("#   validate returned %d\n", rc);
        }
    }

    lg_fixture_cleanup(dir);

    return lg_unit_done();
}
