/* SPDX-License-Identifier: MIT */
/*
 * Word lists for generated names.  Kept friendly (the names end up in
 * shell prompts and screenshots), lowercase ASCII letters only (safe in any
 * filename and shell word), at most 12 letters each, no duplicates (a
 * duplicate would bias the draw).  256 entries each: 16 bits of name
 * entropy for adjective-animal, on top of the 64-bit token.
 * test-names checks every one of these properties.
 */
#include <stddef.h>

#include "names.h"

const char *const names_adjectives[] = {
        "able", "agile", "airy", "amazing", "amber", "amiable", "ample",
        "amused", "arctic", "ardent", "artful", "astute", "avid", "azure",
        "balmy", "blissful", "bold", "bouncy", "brave", "breezy", "bright",
        "brisk", "bubbly", "buoyant", "calm", "candid", "capable", "caped",
        "careful", "caring", "cheerful", "cheery", "chipper", "chummy",
        "classic", "clean", "clever", "cloudy", "cobalt", "coral", "cordial",
        "cosmic", "cozy", "crafty", "crimson", "crisp", "curious", "cute",
        "dainty", "dapper", "dappled", "daring", "dashing", "dazzling", "dear",
        "decent", "deft", "devoted", "diligent", "dreamy", "dynamic", "eager",
        "earnest", "easy", "elated", "elegant", "eloquent", "emerald",
        "endless", "epic", "fabulous", "fair", "faithful", "fancy", "fearless",
        "festive", "fiery", "fleet", "flowing", "fluffy", "fond", "frank",
        "fresh", "friendly", "frosty", "funny", "fuzzy", "gallant", "gentle",
        "genuine", "giddy", "gifted", "glad", "gleaming", "glowing", "golden",
        "good", "graceful", "gracious", "grand", "grateful", "great", "green",
        "gusty", "handy", "happy", "hardy", "harmonious", "hearty", "helpful",
        "heroic", "honest", "hopeful", "humble", "hushed", "ideal", "indigo",
        "ivory", "jade", "jaunty", "jazzy", "jolly", "jovial", "joyful",
        "jubilant", "keen", "kind", "kindly", "lavish", "leafy", "lilac",
        "lively", "lovely", "loyal", "lucid", "lucky", "lunar", "lush",
        "magical", "majestic", "mellow", "merry", "mighty", "mindful",
        "mirthful", "misty", "modest", "mossy", "musical", "mystic", "natural",
        "nautical", "neat", "nifty", "nimble", "noble", "ochre", "olive",
        "orderly", "patient", "peaceful", "pearly", "perky", "placid",
        "playful", "pleasant", "plucky", "poised", "polished", "polite",
        "precise", "proper", "proud", "quick", "quiet", "quirky", "radiant",
        "rapid", "ready", "regal", "reliable", "resolute", "robust", "rosy",
        "royal", "rugged", "russet", "rustic", "saffron", "sage", "sandy",
        "savvy", "scarlet", "serene", "shiny", "silky", "silver", "simple",
        "sincere", "skillful", "sleek", "smart", "smiling", "smooth", "snappy",
        "snowy", "snug", "solar", "solid", "sparkling", "speckled", "speedy",
        "spirited", "splendid", "sporty", "spotted", "sprightly", "spry",
        "stable", "starry", "steady", "stellar", "striped", "sturdy", "sublime",
        "sunlit", "sunny", "superb", "swift", "tawny", "teal", "tender",
        "thankful", "thoughtful", "tidy", "tranquil", "trusty", "truthful",
        "upbeat", "valiant", "velvet", "vermilion", "vernal", "vibrant",
        "violet", "vivid", "warm", "whimsical", "windy", "wintry", "wise",
        "witty", "wondrous", "zany", "zealous", "zesty",
};

const char *const names_animals[] = {
        "aardvark", "albatross", "alligator", "alpaca", "anole", "ant",
        "anteater", "antelope", "armadillo", "axolotl", "baboon", "badger",
        "bat", "bear", "beaver", "bee", "beetle", "beluga", "bison", "bittern",
        "blackbird", "bluebird", "bluejay", "bobcat", "bonobo", "buffalo",
        "bullfrog", "bumblebee", "bunting", "butterfly", "caiman", "camel",
        "canary", "capybara", "cardinal", "caribou", "cat", "caterpillar",
        "chameleon", "cheetah", "chickadee", "chinchilla", "chipmunk", "cicada",
        "civet", "coati", "cockatoo", "condor", "cormorant", "cougar", "coyote",
        "crab", "crane", "crayfish", "cricket", "crocodile", "crow", "cuckoo",
        "curlew", "cuttlefish", "dingo", "dodo", "dolphin", "donkey",
        "dormouse", "dove", "dragonfly", "duck", "dugong", "dunlin", "eagle",
        "eel", "egret", "eland", "elephant", "elk", "emu", "falcon", "fennec",
        "ferret", "finch", "firefly", "flamingo", "flounder", "fox", "frog",
        "gazelle", "gecko", "gerbil", "gibbon", "giraffe", "goat", "goldfinch",
        "goldfish", "goose", "gopher", "gorilla", "grasshopper", "grouse",
        "gull", "guppy", "halibut", "hamster", "hare", "hawk", "hedgehog",
        "heron", "hippo", "hoopoe", "horse", "hummingbird", "ibex", "ibis",
        "iguana", "impala", "jackal", "jackrabbit", "jaguar", "jay",
        "jellyfish", "kangaroo", "kestrel", "kingfisher", "kinkajou", "kiwi",
        "koala", "koi", "kookaburra", "ladybug", "lamb", "lark", "lemming",
        "lemur", "leopard", "linnet", "lion", "lizard", "llama", "lobster",
        "loon", "lynx", "macaw", "mackerel", "magpie", "mallard", "manatee",
        "mandrill", "manta", "marlin", "marmoset", "marmot", "marten",
        "meerkat", "mink", "mongoose", "monkey", "moose", "mouse", "muskox",
        "narwhal", "nautilus", "newt", "nightingale", "numbat", "ocelot",
        "octopus", "okapi", "opossum", "orangutan", "orca", "oriole", "oryx",
        "osprey", "ostrich", "otter", "owl", "ox", "oyster", "panda",
        "pangolin", "panther", "parrot", "partridge", "peacock", "pelican",
        "penguin", "petrel", "pheasant", "pigeon", "pika", "platypus", "plover",
        "pony", "porcupine", "porpoise", "possum", "puffin", "puma", "quail",
        "quetzal", "quokka", "quoll", "rabbit", "raccoon", "raven", "reindeer",
        "rhino", "roadrunner", "robin", "salamander", "salmon", "sandpiper",
        "scallop", "seahorse", "seal", "serval", "shark", "sheep", "siskin",
        "sloth", "snail", "sparrow", "squirrel", "starfish", "starling",
        "stingray", "stork", "sturgeon", "swallow", "swan", "swift", "tamarin",
        "tapir", "tarsier", "tern", "tiger", "tortoise", "toucan", "trout",
        "turtle", "vicuna", "vole", "wallaby", "walrus", "warbler", "weasel",
        "whale", "wildcat", "wolf", "wolverine", "wombat", "woodchuck",
        "woodpecker", "wren", "yak", "zebra",
};

const size_t names_n_adjectives = sizeof(names_adjectives) / sizeof(names_adjectives[0]);
const size_t names_n_animals = sizeof(names_animals) / sizeof(names_animals[0]);
